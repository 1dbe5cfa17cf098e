"""A doctor's request to join a clinic, which the clinic's admin (or a platform admin) decides."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class MembershipStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"  # superseded by a later request, or by a platform admin setting the clinic


class ClinicMembership(Document):
    """One request by one doctor to join one clinic. The doctor's profile moves to the clinic only
    when it is approved; until then the doctor stays where they were (or has no profile yet)."""

    doctor_id: PydanticObjectId
    doctor_name: str
    doctor_email: str
    clinic_id: PydanticObjectId
    clinic_name: str
    status: MembershipStatus = MembershipStatus.pending
    # Profile fields sent with a doctor's first request: the profile is created from them on approval.
    profile: dict = Field(default_factory=dict)
    reason: str | None = None  # a rejection's
    decided_by: PydanticObjectId | None = None
    decided_at: datetime | None = None
    requested_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "clinic_memberships"
        indexes = [
            IndexModel([("clinic_id", ASCENDING), ("status", ASCENDING), ("requested_at", DESCENDING)], name="clinic_status"),
            IndexModel([("doctor_id", ASCENDING), ("status", ASCENDING)], name="doctor_status"),
            # At most one pending request per doctor, even when two arrive at once.
            IndexModel(
                [("doctor_id", ASCENDING)], unique=True, partialFilterExpression={"status": MembershipStatus.pending.value}, name="one_pending_per_doctor"
            ),
        ]
