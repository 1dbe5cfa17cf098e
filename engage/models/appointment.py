"""Appointments: doctor consultations and diagnostic test bookings, one collection, one engine.

Double bookings are impossible by construction: each active appointment lists the 5-minute
`buckets` it covers, and two unique partial indexes over active appointments refuse
  - a second appointment on the same resource seat in any covered bucket (doctor + start, and overlaps),
  - a patient holding two appointments that overlap in time.
One insert (or one update, for a reschedule) is therefore the whole atomic booking.
"""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow

# Statuses of the contract; "held" marks a waitlist offer's hold (never listed as an appointment).
ACTIVE_STATUSES = ("booked", "confirmed")
# The front desk checks a patient in on the appointment's day (engage/actions/front_desk.py): the slot
# stays taken, it can no longer be moved or cancelled, and the doctor then records completed or no_show.
CHECKED_IN = "checked_in"
STATUSES = ("booked", "confirmed", CHECKED_IN, "cancelled", "completed", "no_show")
HELD = "held"
BUCKET_MINUTES = 5

SLOT_INDEX = "active_resource_slot_unique"
PATIENT_INDEX = "active_patient_time_unique"
CLIENT_INDEX = "patient_client_id_unique"
TOKEN_INDEX = "token_unique"


class Appointment(Document):
    patient_id: PydanticObjectId
    doctor_id: PydanticObjectId | None = None  # consultations
    test_centre_id: PydanticObjectId | None = None  # diagnostics
    resource_id: PydanticObjectId  # the doctor or the test centre
    seat: int = 0  # 0 .. capacity-1 (doctors have capacity 1)
    clinic_id: PydanticObjectId
    start: datetime  # UTC
    end: datetime  # UTC
    timezone: str  # the clinic's
    resource_name: str  # the doctor's or test centre's name, copied for lists and notifications
    clinic_name: str
    status: str = "booked"
    # True while the appointment occupies its slot (not cancelled); the unique indexes cover only these.
    holds_slot: bool = True
    buckets: list[datetime] = Field(default_factory=list)
    reason: str | None = None
    client_id: str
    token: str  # short unique front-desk token
    kind: str = "consultation"  # consultation | diagnostic
    # Bumped on every reschedule or cancellation: reminder idempotency keys carry it.
    revision: int = 0
    booked_by: PydanticObjectId | None = None
    hold_expires_at: datetime | None = None
    waitlist_entry_id: PydanticObjectId | None = None
    cancel_reason: str | None = None
    cancelled_by: str | None = None  # patient | doctor | admin | sms | system
    cancelled_at: datetime | None = None
    confirmed_at: datetime | None = None
    checked_in_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "appointments"
        indexes = [
            IndexModel(
                [("resource_id", ASCENDING), ("seat", ASCENDING), ("buckets", ASCENDING)],
                unique=True,
                partialFilterExpression={"holds_slot": True},
                name=SLOT_INDEX,
            ),
            IndexModel(
                [("patient_id", ASCENDING), ("buckets", ASCENDING)],
                unique=True,
                partialFilterExpression={"holds_slot": True},
                name=PATIENT_INDEX,
            ),
            IndexModel([("patient_id", ASCENDING), ("client_id", ASCENDING)], unique=True, name=CLIENT_INDEX),
            IndexModel([("token", ASCENDING)], unique=True, name=TOKEN_INDEX),
            IndexModel([("resource_id", ASCENDING), ("start", ASCENDING)], name="resource_start"),
            IndexModel([("patient_id", ASCENDING), ("start", ASCENDING)], name="patient_start"),
            # Only waitlist holds are indexed here: normal bookings pay nothing for it (secantus is slow per index).
            IndexModel([("hold_expires_at", ASCENDING)], partialFilterExpression={"status": HELD}, name="hold_expiry"),
        ]
