"""Audit trail: every access to another person's health data leaves one record."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class AuditEvent(Document):
    actor_id: PydanticObjectId
    actor_role: str
    subject_id: PydanticObjectId  # whose health data was touched
    action: str  # e.g. "vitals.read", "vitals.watch", "advice.request"
    resource: str  # e.g. "vitals", "conversation:<id>"
    reason: str | None = None  # why, when the actor had to say (emergency access)
    emergency: bool = False  # the access rested on break-glass emergency access
    at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "audit_events"
        indexes = [
            IndexModel([("subject_id", ASCENDING), ("at", DESCENDING)], name="subject_at"),
            IndexModel([("actor_id", ASCENDING), ("at", DESCENDING)], name="actor_at"),
            IndexModel([("at", DESCENDING)], name="at"),
        ]
