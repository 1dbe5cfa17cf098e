"""Clinics and their bookable resources: doctor profiles and diagnostic test centres."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import BaseModel
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class WeeklyWindow(BaseModel):
    weekday: int  # 0 = Monday
    start: str  # "HH:MM", clinic local time
    end: str


class AvailabilityException(BaseModel):
    date: str  # "YYYY-MM-DD", clinic local date
    closed: bool = False
    start: str | None = None  # a replacement window for that date when not closed
    end: str | None = None


class Availability(BaseModel):
    """When a resource can be booked, in its clinic's local time."""

    slot_minutes: int = 30
    buffer_minutes: int = 0
    weekly: list[WeeklyWindow] = Field(default_factory=list)
    exceptions: list[AvailabilityException] = Field(default_factory=list)


class Clinic(Document):
    name: str
    timezone: str  # IANA name
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "clinics"


class DoctorProfile(Document):
    """A doctor's bookable profile; clinic name and time zone are copied in so booking reads one document."""

    doctor_id: PydanticObjectId
    doctor_name: str
    clinic_id: PydanticObjectId
    clinic_name: str
    timezone: str
    specialties: list[str] = Field(default_factory=list)
    bio: str | None = None
    fee: float | None = None
    availability: Availability = Field(default_factory=Availability)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "doctor_profiles"
        indexes = [
            IndexModel([("doctor_id", ASCENDING)], unique=True, name="doctor_unique"),
            IndexModel([("specialties", ASCENDING)], name="specialties"),
            IndexModel([("clinic_id", ASCENDING)], name="clinic"),
        ]


class TestCentre(Document):
    """A diagnostic resource (blood tests, X-ray, ...) with hourly slots and a capacity per slot."""

    __test__ = False  # not a pytest test class despite the name

    name: str
    kind: str  # blood_test | xray | ct | mri | health_check
    clinic_id: PydanticObjectId
    clinic_name: str
    timezone: str
    capacity: int
    availability: Availability = Field(default_factory=lambda: Availability(slot_minutes=60))
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "test_centres"
        indexes = [IndexModel([("kind", ASCENDING)], name="kind")]
