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

from engage import extensions
from engage.config import Settings

log = logging.getLogger(__name__)

LOCK_KEY = "engage:scheduler:lock"
LOCK_TTL_SECONDS = 30

# Capabilities register periodic jobs here: (function(settings), trigger kwargs).
# Example: scheduled_jobs.append((enqueue_due_reminders, {"trigger": "interval", "seconds": 30})).
scheduled_jobs: list = []

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('expire', KEYS[1], ARGV[2])
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

    scheduler: AsyncIOScheduler | None = None
    try:
        while not stop.is_set():
            if scheduler is None:
                if await redis.set(LOCK_KEY, me, nx=True, ex=LOCK_TTL_SECONDS):
                    log.info("scheduler lock acquired by %s", me)
                    scheduler = AsyncIOScheduler(timezone="UTC")
                    for func, trigger in scheduled_jobs:
                        scheduler.add_job(func, args=[settings], max_instances=1, coalesce=True, **trigger)
                    scheduler.start()
            elif not await redis.eval(_RENEW, 1, LOCK_KEY, me, LOCK_TTL_SECONDS):
                log.warning("scheduler lock lost; pausing jobs")
                scheduler.shutdown(wait=False)
                scheduler = None
            try:
                await asyncio.wait_for(stop.wait(), timeout=LOCK_TTL_SECONDS / 3)
            except TimeoutError:
                pass
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            await redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, LOCK_KEY, me)
        await extensions.close_redis()
        await extensions.close_database()


# Capabilities that register periodic jobs (imported last: they append to scheduled_jobs).
import engage.actions.vital_jobs  # noqa: E402,F401
