"""Users: patients, doctors and admins."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class Role(StrEnum):
    patient = "patient"
    doctor = "doctor"
    admin = "admin"
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

    class Settings:
        name = "users"
        indexes = [
            IndexModel([("email", ASCENDING)], unique=True, name="email_unique"),
            IndexModel([("role", ASCENDING), ("approved", ASCENDING)], name="role_approved"),
            IndexModel([("phone", ASCENDING)], name="phone"),
        ]
