"""The worker process: one RQ worker on every queue, with RQ's scheduler enabled."""

from __future__ import annotations

import logging

from rq import SimpleWorker
from rq import Worker

from engage import extensions
from engage.config import Settings

log = logging.getLogger(__name__)

# Capabilities add callables run once at worker start (e.g. recovering dead workers' jobs).
startup_hooks: list = []


def run_worker(settings: Settings, burst: bool = False) -> None:
    connection = extensions.sync_redis(settings)
    queues = [extensions.queue(name, connection) for name in extensions.QUEUE_NAMES]
    import engage.notification_scans  # noqa: F401  (adds its start hook: recovering dead workers' sends)

    worker_class = SimpleWorker if settings.worker_class == "simple" else Worker
    for hook in startup_hooks:
        hook(settings, connection)
    worker = worker_class(queues, connection=connection)
    # with_scheduler: enqueue_in/enqueue_at and retry intervals only run when a worker schedules them.
    worker.work(with_scheduler=True, burst=burst, logging_level=settings.log_level.upper())
