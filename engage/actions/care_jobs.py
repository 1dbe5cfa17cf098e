"""Periodic work of care relations: the scheduler enqueues the expiry scan, workers run it."""

from __future__ import annotations

from engage.actions.vital_jobs import enqueue_once_per_period
from engage.config import Settings
from engage.config import get_settings
from engage.scheduler import scheduled_jobs

EXPIRY_SCAN_JOB = "workers.care.end_expired_care_relations"


def enqueue_care_expiry_scan(settings: Settings) -> None:
    """Enqueue the scan that ends relations whose time ran out (emergency access)."""
    enqueue_once_per_period(settings, EXPIRY_SCAN_JOB, "care-expiry-scan", settings.care_expiry_scan_seconds)


def _register() -> None:
    try:
        seconds = get_settings().care_expiry_scan_seconds
    except Exception:  # settings are validated (with a clear message) when the process starts
        seconds = 60
    scheduled_jobs.append((enqueue_care_expiry_scan, {"trigger": "interval", "seconds": seconds}))


_register()
