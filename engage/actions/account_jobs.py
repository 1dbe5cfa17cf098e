"""Periodic work of accounts: the scheduler enqueues the erasure scan, workers run it."""

from __future__ import annotations

from engage.actions.vital_jobs import enqueue_once_per_period
from engage.config import Settings

ERASURE_SCAN_JOB = "workers.accounts.erase_due_accounts"


def enqueue_erasure_scan(settings: Settings) -> None:
    """Enqueue the scan that erases the personal data of accounts whose deletion grace ran out."""
    enqueue_once_per_period(settings, ERASURE_SCAN_JOB, "account-erasure-scan", settings.account_erasure_scan_seconds)
