"""Refresh-token families: one per login, rotated on every refresh."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class RefreshTokenFamily(Document):
    family_id: str
    user_id: PydanticObjectId
    current_jti: str
    used_jtis: list[str] = Field(default_factory=list)
    # The last rotation: the jti it retired and when (epoch seconds, the new pair's "iat").
    # Presenting previous_jti again within the grace window re-issues that same pair.
    previous_jti: str | None = None
    rotated_at: int | None = None
    revoked: bool = False
    revoked_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime

    class Settings:
        name = "refresh_token_families"
        indexes = [
            IndexModel([("family_id", ASCENDING)], unique=True, name="family_unique"),
            IndexModel([("user_id", ASCENDING)], name="user"),
            # Mongo drops expired families by itself.
            IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expires_ttl"),
        ]
