"""Periodic work of the pharmacy: the scheduler enqueues the hold-expiry scan, workers run it."""

from __future__ import annotations

from engage.actions.vital_jobs import enqueue_once_per_period
from engage.config import Settings

EXPIRY_SCAN_JOB = "workers.pharmacy.release_expired_orders"


def enqueue_order_expiry_scan(settings: Settings) -> None:
    """Enqueue the scan that releases orders not collected within ENGAGE_ORDER_HOLD_DAYS."""
    enqueue_once_per_period(settings, EXPIRY_SCAN_JOB, "pharmacy-order-expiry-scan", settings.pharmacy_expiry_scan_seconds)
