"""Vital readings, the alerts they raise, and each patient's monitoring settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from beanie import PydanticObjectId
from pydantic import BaseModel
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class GivenValue(BaseModel):
    """The value(s) and unit exactly as submitted."""

    unit: str
    value: float | None = None
    systolic: float | None = None
    diastolic: float | None = None


class VitalReading(Document):
    patient_id: PydanticObjectId
    type: str
    unit: str  # canonical unit of the type
    value: float | None = None  # canonical; None for blood pressure
    systolic: float | None = None
    diastolic: float | None = None
    category: str | None = None  # ACC/AHA category for blood pressure
    given: GivenValue
    taken_at: datetime
    source: str = "manual"
    note: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "vital_readings"
        indexes = [
            IndexModel([("patient_id", ASCENDING), ("type", ASCENDING), ("taken_at", DESCENDING)], name="patient_type_taken"),
            IndexModel([("patient_id", ASCENDING), ("taken_at", DESCENDING)], name="patient_taken"),
        ]


class VitalAlert(Document):
    patient_id: PydanticObjectId
    key: str  # one active alert per patient and key: "glucose", "bp_trend", "no_data", "medication_missed:<id>"
    rule: str  # the rule that fired last, e.g. "bp_hypertensive_crisis"
    type: str | None = None
    severity: str
    status: str = "open"  # open | acked | cleared
    # "<patient>:<key>" while active, "<patient>:<key>:closed:<id>" once cleared; unique, so two
    # concurrent readings cannot open two alerts for the same condition.
    active_key: str
    message: str
    reading_id: PydanticObjectId | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    trigger_count: int = 1
    deliveries: int = 1
    opened_at: datetime = Field(default_factory=utcnow)
    last_triggered_at: datetime = Field(default_factory=utcnow)
    last_reading_at: datetime | None = None  # taken_at of the newest reading that triggered it
    acked_by: PydanticObjectId | None = None
    acked_at: datetime | None = None
    snoozed_until: datetime | None = None
    cleared_at: datetime | None = None
    notified_offline: bool = False

    class Settings:
        name = "vital_alerts"
        indexes = [
            IndexModel([("active_key", ASCENDING)], unique=True, name="active_key_unique"),
            IndexModel([("patient_id", ASCENDING), ("status", ASCENDING), ("opened_at", DESCENDING)], name="patient_status"),
        ]


class PatientMonitoring(Document):
    """Per-patient thresholds (set by a doctor) and enrolment in the no-data rule."""

    patient_id: PydanticObjectId
    thresholds: dict[str, dict[str, float]] = Field(default_factory=dict)  # canonical units
    thresholds_updated_by: PydanticObjectId | None = None
    thresholds_updated_at: datetime | None = None
    enrolled: bool = False
    enrolled_by: PydanticObjectId | None = None
    enrolled_at: datetime | None = None
    no_data_hours: int = 72
    last_reading_at: datetime | None = None  # newest reading's taken_at, kept while enrolled

    class Settings:
        name = "patient_monitoring"
        indexes = [
            IndexModel([("patient_id", ASCENDING)], unique=True, name="patient_unique"),
            IndexModel([("enrolled", ASCENDING)], name="enrolled"),
        ]
