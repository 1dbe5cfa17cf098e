"""A clinic's branding: its logo (PNG or sanitised SVG, at most 512 KB) and brand colour."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class ClinicBranding(Document):
    clinic_id: PydanticObjectId
    brand_color: str | None = None  # "#RRGGBB"
    logo: bytes | None = None
    logo_type: str | None = None  # image/png | image/svg+xml, read from the bytes
    logo_version: int = 0  # in the logo's URL, so a new logo is never served from a cache
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "clinic_branding"
        indexes = [IndexModel([("clinic_id", ASCENDING)], unique=True, name="clinic_unique")]
