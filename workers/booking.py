"""RQ jobs of the booking capability: appointment notifications and waitlist offer expiry."""

from __future__ import annotations

from beanie import PydanticObjectId

from engage.actions.booking_notifications import do_send_waitlist_offer_notification
from engage.actions.booking_notifications import do_sync_appointment_notifications
from engage.actions.waitlist import expire_offers
from engage.actions.waitlist import release_hold
from engage.config import get_settings
from workers.runtime import run_job


def sync_appointment_notifications(appointment_id: str, change: str | None = None) -> dict:
    """Announce a booking change and keep exactly the current reminders queued (safe to run twice)."""
    return run_job(lambda: do_sync_appointment_notifications(get_settings(), appointment_id, change))


def send_waitlist_offer_notification(hold_id: str) -> None:
    """Notify a waiting patient of the slot held for them."""
    return run_job(lambda: do_send_waitlist_offer_notification(hold_id))


def expire_waitlist_offer(hold_id: str) -> bool:
    """End one offer if its time is over and hand the slot to the next waiting patient."""
    return run_job(lambda: release_hold(get_settings(), PydanticObjectId(hold_id), expired_only=True))


def expire_waitlist_offers() -> int:
    """Release every expired offer (the scheduler's periodic safety net)."""
    return run_job(lambda: expire_offers(get_settings()))
