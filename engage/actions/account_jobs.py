"""Periodic work of accounts: the scheduler enqueues the erasure scan, workers run it."""

from __future__ import annotations

from engage.actions.vital_jobs import enqueue_once_per_period
from engage.config import Settings
from engage.config import get_settings
from engage.scheduler import scheduled_jobs

ERASURE_SCAN_JOB = "workers.accounts.erase_due_accounts"


def enqueue_erasure_scan(settings: Settings) -> None:
    """Enqueue the scan that erases the personal data of accounts whose deletion grace ran out."""
    enqueue_once_per_period(settings, ERASURE_SCAN_JOB, "account-erasure-scan", settings.account_erasure_scan_seconds)


def _register() -> None:
    try:
        seconds = get_settings().account_erasure_scan_seconds
    except Exception:  # settings are validated (with a clear message) when the process starts
        seconds = 3600
    scheduled_jobs.append((enqueue_erasure_scan, {"trigger": "interval", "seconds": seconds}))


_register()
