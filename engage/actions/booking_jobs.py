"""Enqueueing the booking capability's background jobs (notifications, offer expiry)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from engage import extensions
from engage.config import Settings


def _enqueue(settings: Settings, queue_name: str, func: str, args: tuple, job_id: str | None, delay: timedelta | None) -> None:
    queue = extensions.queue(queue_name, extensions.sync_redis(settings))
    if delay is None:
        queue.enqueue(func, *args, job_id=job_id, result_ttl=0)
    else:
        queue.enqueue_in(delay, func, *args, job_id=job_id, result_ttl=0)


async def enqueue(settings: Settings, queue_name: str, func: str, *args: object, job_id: str | None = None, delay: timedelta | None = None) -> None:
    """Enqueue an RQ job by dotted path without blocking the event loop."""
    await asyncio.to_thread(_enqueue, settings, queue_name, func, args, job_id, delay)


async def enqueue_appointment_notifications(settings: Settings, appointment_id: str, change: str) -> None:
    """Ask a worker to bring the appointment's notifications and reminders in line with its state."""
    await enqueue(settings, "notifications", "workers.booking.sync_appointment_notifications", appointment_id, change)


def enqueue_offer_expiry_scan(settings: Settings) -> None:
    """Scheduler job: enqueue the scan that releases expired waitlist offers."""
    extensions.queue("critical", extensions.sync_redis(settings)).enqueue(
        "workers.booking.expire_waitlist_offers", job_id="booking-offer-expiry-scan", result_ttl=0
    )
