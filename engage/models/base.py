"""Shared pieces of documents."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime


def utcnow() -> datetime:
    """The current instant, tz-aware UTC (what Mongo stores)."""
    return datetime.now(UTC)
