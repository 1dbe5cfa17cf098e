"""Asking for notifications: one document per idempotency key and channel, channels from preferences."""

from __future__ import annotations

import uuid

from engage.actions.notifications import cancel_notifications
from engage.actions.notifications import request_notification
from engage.models.notification import Notification


def key(prefix: str = "test") -> str:
    return f"{prefix}:{uuid.uuid4().hex}"


async def test_asking_twice_with_one_key_creates_one_document_per_channel(db, make_patient):
    patient = await make_patient(phone="+14155550181")
    k = key()
    ctx = {"appointment_id": "a1", "doctor_name": "Dr Who", "clinic_name": "North", "start": "2030-01-01T10:00:00Z", "clinic_timezone": "UTC"}
    first = await request_notification(recipient_id=patient.id, kind="appointment_booked", idempotency_key=k, context=ctx, not_before=None)
    second = await request_notification(recipient_id=patient.id, kind="appointment_booked", idempotency_key=k, context=ctx)
    assert sorted(n.channel for n in first) == ["email", "sms"]
    assert sorted(str(n.id) for n in first) == sorted(str(n.id) for n in second)
    assert await Notification.find({"idempotency_key": k}).count() == 2


async def test_user_without_phone_gets_email_only(db, make_patient):
    patient = await make_patient()
    made = await request_notification(recipient_id=patient.id, kind="advice_ready", idempotency_key=key(), context={"advice_id": "x"})
    assert [n.channel for n in made] == ["email"]


async def test_cancel_suppresses_queued_by_prefix(db, make_patient):
    from datetime import timedelta

    from engage.models.base import utcnow

    patient = await make_patient()
    prefix = key("appt") + ":"
    await request_notification(
        recipient_id=patient.id, kind="medication_reminder", idempotency_key=prefix + "r1", context={"schedule_id": "s"}, not_before=utcnow() + timedelta(hours=2)
    )
    assert await cancel_notifications(prefix) == 1
    (stored,) = await Notification.find({"idempotency_key": prefix + "r1"}).to_list()
    assert stored.status == "suppressed" and stored.suppressed_reason == "cancelled"
