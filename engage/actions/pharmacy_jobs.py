"""Periodic work of the pharmacy: the scheduler enqueues the hold-expiry scan, workers run it."""

from __future__ import annotations

from engage.actions.vital_jobs import enqueue_once_per_period
from engage.config import Settings
from engage.config import get_settings
from engage.scheduler import scheduled_jobs

EXPIRY_SCAN_JOB = "workers.pharmacy.release_expired_orders"


def enqueue_order_expiry_scan(settings: Settings) -> None:
    """Enqueue the scan that releases orders not collected within ENGAGE_ORDER_HOLD_DAYS."""
    enqueue_once_per_period(settings, EXPIRY_SCAN_JOB, "pharmacy-order-expiry-scan", settings.pharmacy_expiry_scan_seconds)


def _register() -> None:
    try:
        seconds = get_settings().pharmacy_expiry_scan_seconds
    except Exception:  # settings are validated (with a clear message) when the process starts
        seconds = 300
    scheduled_jobs.append((enqueue_order_expiry_scan, {"trigger": "interval", "seconds": seconds}))


_register()
