"""Periodic work of the vitals capability: the scheduler enqueues these RQ jobs, workers run them."""

from __future__ import annotations

import time

from engage import extensions
from engage.config import Settings

NO_DATA_SCAN_JOB = "workers.vitals.scan_no_data"
MEDICATION_SCAN_JOB = "workers.medication.scan_medication"


def enqueue_once_per_period(settings: Settings, function: str, name: str, period_seconds: int) -> None:
    # One job id per period: a second scheduler (lock hand-over) cannot double the scan.
    period = int(time.time() // period_seconds)
    connection = extensions.sync_redis(settings)
    # RQ happily enqueues a job id twice; a marker per period makes the enqueue itself once-only.
    if not connection.set(f"engage:scan:{name}:{period}", "1", nx=True, ex=period_seconds * 2):
        return
    queue = extensions.queue("default", connection)
    queue.enqueue(function, job_id=f"{name}-{period}", result_ttl=period_seconds, failure_ttl=86400)


def enqueue_no_data_scan(settings: Settings) -> None:
    """Enqueue the scan for enrolled patients who stopped sending readings."""
    enqueue_once_per_period(settings, NO_DATA_SCAN_JOB, "vitals-no-data-scan", settings.vitals_no_data_scan_seconds)


def enqueue_medication_scan(settings: Settings) -> None:
    """Enqueue the medication scan: schedule upcoming doses, mark missed ones, escalate."""
    enqueue_once_per_period(settings, MEDICATION_SCAN_JOB, "medication-scan", settings.medication_scan_seconds)

