"""Users: patients, doctors and admins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class Role(StrEnum):
    patient = "patient"
    doctor = "doctor"
    admin = "admin"
    clinic_admin = "clinic_admin"  # runs one clinic (clinic_id): staff, doctors joining, branding, FAQ
    receptionist = "receptionist"  # front desk of one clinic (clinic_id): bookings and check-in
    pharmacist = "pharmacist"  # the pharmacy desk of one clinic (clinic_id): catalogue, stock, orders (issue 21)
    assistant = "assistant"  # the Engage Assistant's bot user: never signs in (engage/actions/assistant.py)


# The assistant's one bot user has a fixed id, so the chat writer can tell a message to it from
# the recipient id alone, without a lookup on every send.
ASSISTANT_USER_ID = "a55157a47000000000000001"


class User(Document):
    email: str  # stored lowercased; the unique index makes emails case-insensitive
    password_hash: str
    name: str
    role: Role
    approved: bool = True  # doctors start False until an admin approves them
    phone: str | None = None  # E.164
    timezone: str = "UTC"  # IANA name
    created_at: datetime = Field(default_factory=utcnow)
    approved_at: datetime | None = None
    # A platform admin turned the doctor's account down (approving later clears these).
    rejected_at: datetime | None = None
    rejection_reason: str | None = None
    rejected_by: PydanticObjectId | None = None
    # Accounts (issue 19, engage/actions/accounts.py)
    email_verified: bool = False
    mfa_enabled: bool = False  # a confirmed TOTP authenticator (engage/actions/mfa.py)
    phone_verified: bool = False  # SMS goes only to a verified number, which belongs to one active account
    active: bool = True  # False: deactivated by an admin or by the user's own deletion request
    deactivated_at: datetime | None = None
    deactivated_reason: str | None = None
    deletion_due_at: datetime | None = None  # personal data is erased then (the erasure scan)
    language: str = "en"
    clinic_id: PydanticObjectId | None = None  # clinic_admin and receptionist: the clinic they work for

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("email", ASCENDING)], unique=True, name="email_unique"),
            IndexModel([("role", ASCENDING), ("approved", ASCENDING)], name="role_approved"),
            IndexModel([("phone", ASCENDING)], name="phone"),
        ]
