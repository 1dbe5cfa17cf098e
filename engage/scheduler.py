"""The scheduler process: APScheduler, guarded by a Redis lock so only one runs jobs.

It only enqueues RQ jobs; the work happens in workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.exceptions import RedisError

from engage import extensions
from engage.config import Settings

log = logging.getLogger(__name__)

LOCK_KEY = "engage:scheduler:lock"
# Each scheduler process says it is alive under its host name (the container's health check).
ALIVE_KEY = "engage:scheduler:alive:{host}"

# Capabilities register periodic jobs here: (function(settings), trigger kwargs).
# Example: scheduled_jobs.append((enqueue_due_reminders, {"trigger": "interval", "seconds": 30})).
scheduled_jobs: list = []

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

    import engage.notification_scans  # noqa: F401  (registers its periodic scan)

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
                for func, trigger in scheduled_jobs:
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


# Capabilities register their periodic jobs when imported.
import engage.actions.booking_jobs  # noqa: E402,F401
import engage.actions.vital_jobs  # noqa: E402,F401
import engage.actions.care_jobs  # noqa: E402,F401
import engage.actions.account_jobs  # noqa: E402,F401
import engage.actions.pharmacy_jobs  # noqa: E402,F401
