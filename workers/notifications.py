"""RQ jobs of the notifications queue: sending a batch of notifications."""

from __future__ import annotations

from rq import get_current_job

from engage.actions.notification_delivery import deliver_notifications
from workers.runtime import notification_providers
from workers.runtime import run_job


def send_notifications(notification_ids: list[str]) -> dict:
    """Claim and send these notifications (each at most once; safe to run twice)."""
    job = get_current_job()  # thread-local in RQ: read it here, not in the threads the body uses

    async def body() -> dict:
        return await deliver_notifications(notification_ids, job_id=job.id if job else None, providers=notification_providers())

    return run_job(body)
