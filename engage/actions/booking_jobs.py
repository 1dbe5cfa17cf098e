"""Enqueueing the booking capability's background jobs (notifications, offer expiry)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import redis

from engage import extensions
from engage.config import Settings

# RQ is synchronous; one connection per process and Redis URL avoids a TCP connect per booking.
_connections: dict[str, redis.Redis] = {}


def _connection(settings: Settings) -> redis.Redis:
    assert settings.redis_url
    if settings.redis_url not in _connections:
        _connections[settings.redis_url] = extensions.sync_redis(settings)
    return _connections[settings.redis_url]


def _enqueue(settings: Settings, queue_name: str, func: str, args: tuple, job_id: str | None, delay: timedelta | None) -> None:
    queue = extensions.queue(queue_name, _connection(settings))
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
    extensions.queue("critical", _connection(settings)).enqueue(
        "workers.booking.expire_waitlist_offers", job_id="booking-offer-expiry-scan", result_ttl=0
    )


def _register_scheduled_jobs() -> None:
    from engage.scheduler import scheduled_jobs

    if not any(func is enqueue_offer_expiry_scan for func, _ in scheduled_jobs):
        scheduled_jobs.append((enqueue_offer_expiry_scan, {"trigger": "interval", "seconds": 30}))


_register_scheduled_jobs()
