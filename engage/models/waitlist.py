"""Waitlist entries: a patient waiting for a doctor's slot between two instants."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class WaitlistEntry(Document):
    patient_id: PydanticObjectId
    doctor_id: PydanticObjectId
    window_start: datetime  # UTC
    window_end: datetime  # UTC
    status: str = "waiting"  # waiting | offered | booked | cancelled
    offer_hold_id: PydanticObjectId | None = None  # the held appointment while offered
    offer_start: datetime | None = None
    offer_expires_at: datetime | None = None
    passed_starts: list[datetime] = Field(default_factory=list)  # offers this patient let lapse or declined
    appointment_id: PydanticObjectId | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "waitlist_entries"
        indexes = [
            IndexModel([("doctor_id", ASCENDING), ("status", ASCENDING), ("created_at", ASCENDING)], name="doctor_status_created"),
            IndexModel([("patient_id", ASCENDING), ("created_at", ASCENDING)], name="patient_created"),
        ]
