"""Prescriptions and the doses they schedule."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class Prescription(Document):
    patient_id: PydanticObjectId
    doctor_id: PydanticObjectId
    drug: str
    dose: str
    times: list[str]  # "HH:MM" in the patient's time zone
    timezone: str
    start_date: str  # YYYY-MM-DD (BSON has no date type)
    end_date: str
    instructions: str | None = None
    missed_doses_alert: int = 3
    active: bool = True
    scheduled_until: datetime | None = None  # doses exist up to here
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "prescriptions"
        indexes = [
            IndexModel([("patient_id", ASCENDING), ("active", ASCENDING)], name="patient_active"),
            IndexModel([("active", ASCENDING)], name="active"),
        ]


class MedicationDose(Document):
    prescription_id: PydanticObjectId
    patient_id: PydanticObjectId
    scheduled_at: datetime  # UTC
    local_date: str  # YYYY-MM-DD in the prescription's time zone
    local_time: str  # HH:MM
    status: str = "pending"  # pending | taken | missed
    taken_at: datetime | None = None
    marked_via: str | None = None  # socket | rest | sms
    missed_at: datetime | None = None

    class Settings:
        name = "medication_doses"
        indexes = [
            IndexModel([("prescription_id", ASCENDING), ("scheduled_at", ASCENDING)], unique=True, name="prescription_slot_unique"),
            IndexModel([("patient_id", ASCENDING), ("status", ASCENDING), ("scheduled_at", ASCENDING)], name="patient_status_time"),
            IndexModel([("status", ASCENDING), ("scheduled_at", ASCENDING)], name="status_time"),
        ]
