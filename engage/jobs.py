"""RQ job state as Engage judges it: is a job still going to run (or running) somewhere?

Domain code and the worker's recovery both ask this; neither imports workers (engage enqueues
jobs by their dotted path, e.g. "workers.chat.send_missed_messages_alert").
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import redis
from rq import Queue
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.job import JobStatus

from engage.models.base import utcnow

HOST = socket.gethostname()
# A worker of another host whose heartbeat is older than this is taken for dead.
WORKER_SILENT_SECONDS = 120


def pid_alive(pid: int) -> bool:
    """Whether a process of this host runs (a zombie, killed but not yet reaped, counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def job_is_live(connection: redis.Redis, job_id: str) -> bool:
    """Whether the job is waiting in its queue, scheduled, or started by a worker that is alive."""
    try:
        job = Job.fetch(job_id, connection=connection)
        status = job.get_status()
    except NoSuchJobError:
        return False
    if status == JobStatus.QUEUED:
        # A worker killed while taking the job leaves it "queued" yet out of the queue (seen in the
        # crash benchmark): only a job still in the queue's list counts.
        return Queue(job.origin, connection=connection).get_job_position(job.id) is not None
    if status in (JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return True
    if status != JobStatus.STARTED:
        return False  # finished or failed: whatever is still queued was left behind
    # Worker.all lists the registered workers (a dead one's entry expires with its heartbeat).
    worker = next((w for w in Worker.all(connection=connection) if w.name == job.worker_name), None) if job.worker_name else None
    if worker is None:
        return False
    if worker.hostname == HOST and worker.pid:
        return pid_alive(int(worker.pid))
    heartbeat = worker.last_heartbeat
    return heartbeat is None or (utcnow() - heartbeat.replace(tzinfo=heartbeat.tzinfo or utcnow().tzinfo)) < timedelta(seconds=WORKER_SILENT_SECONDS)
