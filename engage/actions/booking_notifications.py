"""Appointment notifications and reminders, through the notifications pipeline.

Reminder idempotency keys carry the appointment's revision (bumped by every reschedule and
cancellation): `appointment:<id>:r<revision>:reminder:<minutes>m`. A sync suppresses every older
revision's reminders, asks for the current ones, then re-reads the revision; if it moved
meanwhile it suppresses what it just asked for. Whatever order concurrent syncs run in, only
the current revision's reminders stay queued, and the pipeline sends each key once.
"""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId

from engage.actions.notifications import cancel_notifications
from engage.actions.notifications import request_notification
from engage.config import Settings
from engage.models.appointment import ACTIVE_STATUSES
from engage.models.appointment import HELD
from engage.models.appointment import Appointment
from engage.models.user import User

log = logging.getLogger(__name__)

CHANGE_KINDS = {"booked": "appointment_booked", "rescheduled": "appointment_rescheduled", "cancelled": "appointment_cancelled"}


def reminder_prefix(appointment_id: str, revision: int) -> str:
    return f"appointment:{appointment_id}:r{revision}:"


def reminder_key(appointment_id: str, revision: int, offset_minutes: int) -> str:
    return f"{reminder_prefix(appointment_id, revision)}reminder:{offset_minutes}m"


def change_key(appointment_id: str, change: str, revision: int) -> str:
    return f"appointment:{appointment_id}:{change}:{revision}"


async def appointment_context(appointment: Appointment) -> dict[str, Any]:
    patient = await User.get(appointment.patient_id)
    return {
        "appointment_id": str(appointment.id),
        "doctor_name": appointment.resource_name,
        "clinic_name": appointment.clinic_name,
        "start": appointment.start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "clinic_timezone": appointment.timezone,
        # Reminders read in the patient's own time zone when it differs from the clinic's.
        "patient_timezone": patient.timezone if patient else appointment.timezone,
        "token": appointment.token,
    }


async def do_sync_appointment_notifications(settings: Settings, appointment_id: str, change: str | None) -> dict[str, Any]:
    """Announce a booking change to the patient and keep exactly the current reminders queued."""
    appointment = await Appointment.get(PydanticObjectId(appointment_id))
    if appointment is None or appointment.status == HELD:
        return {"skipped": True}
    for old in range(appointment.revision):
        await cancel_notifications(reminder_prefix(appointment_id, old))
    context = await appointment_context(appointment)
    recipient = str(appointment.patient_id)
    if change in CHANGE_KINDS:
        await request_notification(
            recipient_id=recipient, kind=CHANGE_KINDS[change], idempotency_key=change_key(appointment_id, change, appointment.revision), context=context
        )
    requested: list[int] = []
    if appointment.status in ACTIVE_STATUSES:
        now = datetime.now(UTC)
        for offset in settings.reminder_offsets:
            send_at = appointment.start - timedelta(minutes=offset)
            if send_at <= now:
                continue  # booked after this reminder's time: a late "24 h before" would be wrong
            await request_notification(
                recipient_id=recipient,
                kind="appointment_reminder",
                idempotency_key=reminder_key(appointment_id, appointment.revision, offset),
                context=context,
                not_before=send_at,
            )
            requested.append(offset)
        current = await Appointment.get(appointment.id)
        if current is None or current.revision != appointment.revision or current.status not in ACTIVE_STATUSES:
            await cancel_notifications(reminder_prefix(appointment_id, appointment.revision))
            requested = []
    else:
        await cancel_notifications(reminder_prefix(appointment_id, appointment.revision))
    return {"revision": appointment.revision, "reminders": requested}


async def do_send_waitlist_offer_notification(hold_id: str) -> None:
    """Tell the patient a slot is held for them (only while the hold still stands)."""
    hold = await Appointment.get(PydanticObjectId(hold_id))
    if hold is None or hold.status != HELD or hold.hold_expires_at is None:
        return
    await request_notification(
        recipient_id=str(hold.patient_id),
        kind="waitlist_offer",
        idempotency_key=f"waitlist:hold:{hold_id}",
        context={
            "doctor_name": hold.resource_name,
            "start": hold.start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "clinic_timezone": hold.timezone,
            "expires_at": hold.hold_expires_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        },
    )
