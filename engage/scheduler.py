"""The scheduler process: APScheduler, guarded by a Redis lock so only one runs jobs.

It only enqueues RQ jobs; the work happens in workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.exceptions import RedisError

from engage import extensions
from engage.actions.account_jobs import enqueue_erasure_scan
from engage.actions.booking_jobs import enqueue_offer_expiry_scan
from engage.actions.care_jobs import enqueue_care_expiry_scan
from engage.actions.pharmacy_jobs import enqueue_order_expiry_scan
from engage.actions.vital_jobs import enqueue_medication_scan
from engage.actions.vital_jobs import enqueue_no_data_scan
from engage.config import Settings
from engage.notification_scans import notifications_scan
from engage.scheduler_keys import ALIVE_KEY
from engage.scheduler_keys import LOCK_KEY

log = logging.getLogger(__name__)


def periodic_jobs(settings: Settings) -> tuple[tuple[Callable[[Settings], Any], dict[str, Any]], ...]:
    """Every periodic job of Engage, in one place: (function(settings), APScheduler trigger)."""

    def every(seconds: float) -> dict[str, Any]:
        return {"trigger": "interval", "seconds": seconds}

    return (
        (notifications_scan, every(settings.notification_scan_seconds)),
        (enqueue_offer_expiry_scan, every(30)),
        (enqueue_no_data_scan, every(settings.vitals_no_data_scan_seconds)),
        (enqueue_medication_scan, every(settings.medication_scan_seconds)),
        (enqueue_care_expiry_scan, every(settings.care_expiry_scan_seconds)),
        (enqueue_erasure_scan, every(settings.account_erasure_scan_seconds)),
        (enqueue_order_expiry_scan, every(settings.pharmacy_expiry_scan_seconds)),
    )


# Take the lock if it is free, renew it if it is ours: a scheduler that comes back after a Redis
# restart (the key survives in the append-only file) keeps its lock instead of waiting it out.
_TAKE_OR_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  return 1
end
return 0
"""


async def run_scheduler(settings: Settings) -> None:
    redis = extensions.init_redis(settings)
    await extensions.init_database(settings, create_indexes=False)
    me = f"{socket.gethostname()}:{os.getpid()}"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    ttl = settings.scheduler_lock_seconds
    scheduler: AsyncIOScheduler | None = None
    held_at = 0.0  # loop time the lock was last taken or renewed
    try:
        while not stop.is_set():
            try:
                held = bool(await redis.eval(_TAKE_OR_RENEW, 1, LOCK_KEY, me, int(ttl)))
                await redis.set(ALIVE_KEY.format(host=socket.gethostname()), me, ex=int(ttl))
                if held:
                    held_at = loop.time()
            except RedisError as exc:
                # Redis is restarting: keep running jobs while our lease may still stand (they
                # fail to enqueue meanwhile); past it another scheduler may have taken over.
                held = scheduler is not None and loop.time() - held_at < ttl
                log.warning("scheduler cannot reach Redis (%s); %s", exc, "keeping its jobs" if held else "jobs paused")
            if held and scheduler is None:
                log.info("scheduler lock acquired by %s", me)
                scheduler = AsyncIOScheduler(timezone="UTC")
                for func, trigger in periodic_jobs(settings):
                    scheduler.add_job(func, args=[settings], max_instances=1, coalesce=True, **trigger)
                scheduler.start()
            elif not held and scheduler is not None:
                log.warning("scheduler lock lost; pausing jobs")
                scheduler.shutdown(wait=False)
                scheduler = None
            try:
                await asyncio.wait_for(stop.wait(), timeout=ttl / 3)
            except TimeoutError:
                pass
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            try:
                await redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, LOCK_KEY, me)
            except RedisError:
                pass  # it expires by itself
        await extensions.close_redis()
        await extensions.close_database()
