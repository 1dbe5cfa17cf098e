"""Recovering jobs whose worker died mid-job (SIGKILL, out of memory, a lost machine).

RQ does not requeue them: they stay in the queue's started registry until their timeout, and then
StartedJobRegistry.cleanup() moves them to the failed registry (or retries them if they were
enqueued with retries). Every Engage job is safe to run twice, so a new worker puts them back now.

What RQ 3 offers and we use: StartedJobRegistry.get_job_and_execution_ids, Execution.delete (takes
an execution out of the started registry and the job's execution registry), Queue.enqueue_job, and
Worker.all and Queue.get_job_position (in engage.jobs.job_is_live). What it lacks: a way to tell
that a started job's worker is dead before the job's timeout (judged in engage.jobs.job_is_live
from the worker's pid on this host, or its heartbeat elsewhere); a requeue of started jobs
(StartedJobRegistry.requeue looks entries up by job id, but RQ 3 keys them by job and execution);
and a claim so that only one of two workers starting at once requeues a job (a SET NX of ours).
"""

from __future__ import annotations

import logging
import time

import redis
from pymongo.errors import PyMongoError
from rq.executions import Execution
from rq.job import Job
from rq.registry import StartedJobRegistry

from engage import extensions
from engage.actions.notification_delivery import scan_notifications
from engage.config import Settings
from engage.jobs import job_is_live
from workers.runtime import run_job

log = logging.getLogger(__name__)

RECOVERY_CLAIM = "engage:recovery:{job_id}:{execution_id}"


def requeue_abandoned_jobs(connection: redis.Redis) -> int:
    """Requeue, on every queue, started jobs whose worker is dead; returns how many."""
    requeued = 0
    for name in extensions.QUEUE_NAMES:
        registry = StartedJobRegistry(name, connection=connection)
        queue = extensions.queue(name, connection)
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            if job_is_live(connection, job_id):
                continue
            # Only the one who claims the execution requeues (two workers may start at once).
            if not connection.set(RECOVERY_CLAIM.format(job_id=job_id, execution_id=execution_id), "1", nx=True, ex=3600):
                continue
            try:
                job = Job.fetch(job_id, connection=connection)
                with connection.pipeline() as pipeline:
                    Execution(execution_id, job_id, connection=connection).delete(job, pipeline)
                    pipeline.execute()
                queue.enqueue_job(job)
                requeued += 1
            except Exception:
                log.exception("could not requeue job %s of a dead worker", job_id)
    if requeued:
        log.warning("requeued %d jobs of dead workers", requeued)
    return requeued


def recover_after_dead_workers(settings: Settings, connection: redis.Redis) -> None:
    """Worker start: requeue dead workers' jobs, then recover the notifications they had claimed."""
    requeued = requeue_abandoned_jobs(connection)
    stats: dict = {}
    for wait in (0.5, 1, 2, 4, 8, None):
        try:
            stats = run_job(lambda: scan_notifications(settings))
            break
        except PyMongoError as exc:
            # The database restarting as this worker starts: try again for a while; after that the
            # scheduler's periodic scans recover the claimed sends, so the worker starts anyway.
            if wait is None:
                log.warning("recovery scan at worker start failed (%s); left to the periodic scans", exc)
                break
            log.warning("recovery scan at worker start failed (%s); again in %g s", exc, wait)
            time.sleep(wait)
    if requeued or any(stats.values()):
        log.warning("recovered after dead workers: %d jobs, %s", requeued, stats)
