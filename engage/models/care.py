"""Care relations: the recorded reasons a doctor may see a patient's health data.

Appointments are a source too, but they are not copied here: an appointment that is booked,
confirmed or completed relates its doctor and patient for ENGAGE_CARE_RELATION_DAYS after its
start (engage/lib/care.py reads them where they are, so a cancellation ends the relation at once).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class CareSource(StrEnum):
    conversation = "conversation"  # the patient opened a conversation with the doctor
    appointment = "appointment"  # derived from appointments, never stored
    assigned = "assigned"  # an admin assigned the doctor to the patient
    emergency = "emergency"  # break-glass access: 24 h, with a written reason


class CareRelation(Document):
    patient_id: PydanticObjectId
    doctor_id: PydanticObjectId
    source: CareSource
    since: datetime = Field(default_factory=utcnow)
    until: datetime | None = None  # open-ended when None
    reason: str | None = None
    granted_by: PydanticObjectId | None = None  # who created it: the patient, an admin, the doctor (emergency)
    ended_at: datetime | None = None
    ended_by: PydanticObjectId | None = None
    ended_reason: str | None = None

    class Settings:
        name = "care_relations"
        indexes = [
            IndexModel([("doctor_id", ASCENDING), ("patient_id", ASCENDING)], name="doctor_patient"),
            IndexModel([("patient_id", ASCENDING), ("since", ASCENDING)], name="patient_since"),
            IndexModel([("ended_at", ASCENDING), ("until", ASCENDING)], name="open_until"),  # the expiry scan
        ]
