"""Periodic work of care relations: the scheduler enqueues the expiry scan, workers run it."""

from __future__ import annotations

from engage.actions.vital_jobs import enqueue_once_per_period
from engage.config import Settings

EXPIRY_SCAN_JOB = "workers.care.end_expired_care_relations"


def enqueue_care_expiry_scan(settings: Settings) -> None:
    """Enqueue the scan that ends relations whose time ran out (emergency access)."""
    enqueue_once_per_period(settings, EXPIRY_SCAN_JOB, "care-expiry-scan", settings.care_expiry_scan_seconds)
