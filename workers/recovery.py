"""Recovering jobs whose worker died mid-job (SIGKILL, out of memory, a lost machine).

RQ does not requeue them: they stay in the queue's started registry until their timeout and
then count as failed. Every Engage job is safe to run twice, so a new worker puts them back.
"""

from __future__ import annotations

import logging

import redis
from rq.job import Job
from rq.registry import StartedJobRegistry

from engage import extensions
from engage.actions.notification_delivery import _job_is_live as job_is_live

log = logging.getLogger(__name__)


def requeue_abandoned_jobs(connection: redis.Redis) -> int:
    """Requeue, on every queue, started jobs whose worker is dead; returns how many."""
    requeued = 0
    for name in extensions.QUEUE_NAMES:
        registry = StartedJobRegistry(name, connection=connection)
        queue = extensions.queue(name, connection)
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            if job_is_live(connection, job_id):
                continue
            # Only the one who removes the entry requeues (two workers may start at once).
            if connection.zrem(registry.key, f"{job_id}:{execution_id}"):
                try:
                    queue.enqueue_job(Job.fetch(job_id, connection=connection))
                    requeued += 1
                except Exception:
                    log.exception("could not requeue job %s of a dead worker", job_id)
    if requeued:
        log.warning("requeued %d jobs of dead workers", requeued)
    return requeued
