"""The worker process: one RQ worker on every queue, with RQ's scheduler enabled."""

from __future__ import annotations

import logging
import time

import redis
from rq import SimpleWorker
from rq import Worker

from engage import extensions
from engage import metrics
from engage.assistant.understanding import understander
from engage.config import Settings
from workers.recovery import recover_after_dead_workers
from workers.runtime import stop_runtime

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 30


class ForkingWorker(Worker):
    """RQ's forking worker, whose maintenance also folds its ended jobs' metric files (engage.metrics)."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        metrics.fold_ended_processes()


def run_worker(settings: Settings, burst: bool = False) -> None:
    connection = extensions.sync_redis(settings)
    queues = [extensions.queue(name, connection) for name in extensions.QUEUE_NAMES]
    worker_class = SimpleWorker if settings.worker_class == "simple" else ForkingWorker
    wait_for_redis(connection)
    # Start-up work, in order: jobs and notification sends of workers that died.
    recover_after_dead_workers(settings, connection)
    if worker_class is ForkingWorker:
        stop_runtime()  # work horses are forked: each builds its own loop and clients
    understander()  # trained once here: forked jobs inherit the assistant's model instead of training it each
    while True:
        # A short maintenance interval: RQ restarts its scheduler process (enqueue_in, retries)
        # there, and that process dies when Redis restarts.
        worker = worker_class(queues, connection=connection, maintenance_interval=MAINTENANCE_SECONDS)
        # with_scheduler: enqueue_in/enqueue_at and retry intervals only run when a worker schedules them.
        worker.work(with_scheduler=True, burst=burst, logging_level=settings.log_level.upper())
        if burst or worker._shutdown_requested_date is not None:
            return
        # RQ's loop quits on a Redis error outside its dequeue retries (e.g. Redis restarting):
        # work on, as a new worker, once Redis answers.
        log.warning("worker stopped on an error; starting again once Redis answers")
        wait_for_redis(connection)


def wait_for_redis(connection: redis.Redis, most: float = 30) -> None:
    """Block until Redis answers a ping, retrying with a doubling wait up to `most` seconds."""
    wait = 0.5
    while True:
        try:
            connection.ping()
            return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            log.warning("Redis is not answering (%s); retrying in %g s", exc, wait)
            time.sleep(wait)
            wait = min(wait * 2, most)
