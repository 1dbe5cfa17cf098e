"""RQ jobs of the notifications queue: sending a batch of notifications."""

from __future__ import annotations

from workers.runtime import run_job


def send_notifications(notification_ids: list[str]) -> dict:
    """Claim and send these notifications (each at most once; safe to run twice)."""
    from engage.actions.notification_delivery import deliver_notifications

    return run_job(lambda: deliver_notifications(notification_ids))
