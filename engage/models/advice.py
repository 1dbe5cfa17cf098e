"""Advice written from a patient's last 30 days of vitals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class Advice(Document):
    patient_id: PydanticObjectId
    requested_by: PydanticObjectId
    status: str = "pending"  # pending | ready | failed
    provider: str | None = None  # guidelines | llm
    model: str | None = None
    fallback_reason: str | None = None
    items: list[dict[str, Any]] = Field(default_factory=list)
    urgent: bool = False
    disclaimer: str | None = None
    summary: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=utcnow)
    ready_at: datetime | None = None

    class Settings:
        name = "advice"
        indexes = [IndexModel([("patient_id", ASCENDING), ("created_at", DESCENDING)], name="patient_created")]
