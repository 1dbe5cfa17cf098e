"""Periodic notification scans for the scheduler process, and the worker's start-up recovery.

The scheduler runs these only while it holds the Redis lock (engage.scheduler); even so, two scans
at once could not send twice: enqueueing takes a per-notification SET NX marker and sending takes
an atomic claim.
"""

from __future__ import annotations

import logging

import redis

from engage.actions.notification_delivery import recover_dead_worker_jobs
from engage.actions.notification_delivery import scan_notifications
from engage.config import Settings
from engage.scheduler import scheduled_jobs

log = logging.getLogger(__name__)


async def notifications_scan(settings: Settings) -> None:
    """Recover dead workers' claims, then enqueue deferred, retried and lost sends that are due."""
    stats = await scan_notifications(settings)
    if any(stats.values()):
        log.info("notification scan: %s", stats)


def recover_on_worker_start(settings: Settings, connection: redis.Redis) -> None:
    """Worker start hook: clean RQ's registry of dead workers' jobs and recover their notifications."""
    from workers.runtime import run_job

    removed = recover_dead_worker_jobs(connection)
    stats = run_job(lambda: scan_notifications(settings))
    if removed or any(stats.values()):
        log.warning("recovered after dead workers: %d jobs, %s", removed, stats)


def register() -> None:
    """Add the periodic scan to the scheduler and the recovery to worker start (once)."""
    from engage.config import get_settings
    from workers.worker import startup_hooks

    if not any(func is notifications_scan for func, _ in scheduled_jobs):
        scheduled_jobs.append((notifications_scan, {"trigger": "interval", "seconds": get_settings().notification_scan_seconds}))
    if recover_on_worker_start not in startup_hooks:
        startup_hooks.append(recover_on_worker_start)


register()
