"""Reminders 24 h and 2 h before through the notifications pipeline, exact after reschedules and cancels; SMS replies."""

from __future__ import annotations

from datetime import timedelta

from bson import ObjectId

from engage.actions.booking import booking_sms_reply
from engage.actions.booking import handle_sms_reply
from engage.actions.sms_replies import REPLY_HANDLERS
from engage.models.appointment import Appointment
from engage.models.notification import Notification
from engage.models.user import User
from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.booking_support import make_scheduled_doctor
from tests.booking_support import parse
from tests.waiting import wait_until


async def notifications_of(appointment_id: str) -> list[Notification]:
    return await Notification.find({"idempotency_key": {"$regex": f"^appointment:{appointment_id}:"}}).sort("created_at").to_list()


def reminders(found: list[Notification], status: str = "queued") -> list[tuple[str, object]]:
    return sorted((n.idempotency_key, n.due_at) for n in found if n.kind == "appointment_reminder" and n.status == status and n.channel == "email")


async def test_reminders_are_exact_and_follow_reschedule_and_cancel(api, admin, make_doctor, make_patient, db, worker):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, timezone="Europe/Berlin")
    patient = await make_patient(timezone="America/New_York")
    day = future_day(4)
    start = local_slot(day, "10:00", "Europe/Berlin")
    appointment = (await book(api, patient, doctor.id, start)).body["appointment"]
    aid = appointment["id"]

    async def settled(expected_queued: int, revision: int):
        found = await notifications_of(aid)
        queued = reminders(found)
        return found if len(queued) == expected_queued and all(f":r{revision}:" in key for key, _ in queued) else None

    found = await wait_until(lambda: settled(2, 0))
    begins = parse(start)
    assert reminders(found) == [
        (f"appointment:{aid}:r0:reminder:120m", begins - timedelta(hours=2)),
        (f"appointment:{aid}:r0:reminder:1440m", begins - timedelta(hours=24)),
    ]
    reminder = next(n for n in found if n.kind == "appointment_reminder")
    assert reminder.recipient_id == ObjectId(patient.id)
    assert reminder.context["start"] == start and reminder.context["clinic_timezone"] == "Europe/Berlin"
    assert reminder.context["patient_timezone"] == "America/New_York" and reminder.context["doctor_name"] == doctor.name
    assert [n.kind for n in found if n.channel == "email"].count("appointment_booked") == 1

    new_start = local_slot(day + timedelta(days=1), "15:30", "Europe/Berlin")
    resp = await api.post(f"/api/appointments/{aid}/reschedule", {"start": new_start}, token=patient.access_token)
    assert resp.status == 200
    found = await wait_until(lambda: settled(2, 1))
    moved = parse(new_start)
    assert reminders(found) == [
        (f"appointment:{aid}:r1:reminder:120m", moved - timedelta(hours=2)),
        (f"appointment:{aid}:r1:reminder:1440m", moved - timedelta(hours=24)),
    ]
    assert [key for key, _ in reminders(found, "suppressed")] == [f"appointment:{aid}:r0:reminder:120m", f"appointment:{aid}:r0:reminder:1440m"]
    assert any(n.kind == "appointment_rescheduled" for n in found)

    # Moving back to the original time must still leave reminders (new revision, new keys).
    resp = await api.post(f"/api/appointments/{aid}/reschedule", {"start": start}, token=patient.access_token)
    found = await wait_until(lambda: settled(2, 2))
    assert [due for _, due in reminders(found)] == [begins - timedelta(hours=2), begins - timedelta(hours=24)]

    resp = await api.post(f"/api/appointments/{aid}/cancel", {}, token=doctor.access_token)
    assert resp.status == 200
    found = await wait_until(lambda: _cancelled_and_silent(aid))
    assert reminders(found) == []
    assert len(reminders(found, "suppressed")) == 6


async def _cancelled_and_silent(aid: str):
    found = await notifications_of(aid)
    if any(n.kind == "appointment_cancelled" for n in found) and not reminders(found):
        return found
    return None


async def test_reminder_times_already_past_are_not_requested(api, admin, make_doctor, make_patient, db, worker):
    """Booked 5 hours ahead: the 24 h reminder's time has passed, so only the 2 h one exists."""
    from datetime import UTC
    from datetime import datetime

    from tests.booking_support import ALL_DAY
    from tests.booking_support import iso

    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY, slot_minutes=60)
    patient = await make_patient()
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=5)
    aid = (await book(api, patient, doctor.id, iso(start))).body["appointment"]["id"]
    # The sync asks for the largest offset first: once the 2 h reminder exists, a 24 h one would too.
    found = await wait_until(lambda: _reminder_requested(aid))
    assert reminders(found) == [(f"appointment:{aid}:r0:reminder:120m", start - timedelta(hours=2))]


async def _reminder_requested(aid: str):
    found = await notifications_of(aid)
    return found if reminders(found) else None


async def _booked_notice(aid: str):
    found = await notifications_of(aid)
    return found if any(n.kind == "appointment_booked" for n in found) else None


async def test_sms_reply_confirms_or_cancels_the_next_appointment(api, admin, make_doctor, make_patient, db, settings):
    assert booking_sms_reply in REPLY_HANDLERS
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient(phone="+14155550177")
    day = future_day(2)
    first = (await book(api, patient, doctor.id, local_slot(day, "09:00"))).body["appointment"]
    second = (await book(api, patient, doctor.id, local_slot(day, "10:00"))).body["appointment"]
    user = await User.get(ObjectId(patient.id))

    assert await handle_sms_reply(settings, user, "hello") is None
    answer = await handle_sms_reply(settings, user, " yes ")
    assert answer.startswith("Confirmed:") and "09:00" in answer
    assert (await Appointment.get(first["id"])).status == "confirmed"
    assert (await Appointment.get(second["id"])).status == "booked"

    answer = await handle_sms_reply(settings, user, "X")
    assert answer.startswith("Cancelled:") and "09:00" in answer
    cancelled = await Appointment.get(first["id"])
    assert cancelled.status == "cancelled" and cancelled.cancelled_by == "sms" and cancelled.holds_slot is False
    # "C" now applies to the next one.
    assert "10:00" in await handle_sms_reply(settings, user, "c")
    assert (await Appointment.get(second["id"])).status == "confirmed"
    assert (await handle_sms_reply(settings, user, "CANCEL")).startswith("Cancelled:")
    assert await handle_sms_reply(settings, user, "C") == "You have no upcoming appointment."
    doctor_user = await User.get(ObjectId(doctor.id))
    assert await handle_sms_reply(settings, doctor_user, "C") is None


async def test_running_the_sync_again_creates_nothing_new(api, admin, make_doctor, make_patient, db, settings, worker):
    """Jobs may run twice: every notification keeps exactly one document per key and channel."""
    from engage.actions.booking_notifications import do_sync_appointment_notifications

    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient(phone="+14155550199")
    aid = (await book(api, patient, doctor.id, local_slot(future_day(3), "12:00"))).body["appointment"]["id"]
    first = await wait_until(lambda: _booked_notice(aid))
    await wait_until(lambda: _count_at_least(aid, 6))  # booked + 2 reminders, on email and SMS
    await do_sync_appointment_notifications(settings, aid, "booked")
    await do_sync_appointment_notifications(settings, aid, "booked")
    again = await notifications_of(aid)
    assert len(again) == 6 and len(first) <= 6
    assert sorted((n.idempotency_key, n.channel) for n in again) == sorted(
        (key, channel)
        for key in (f"appointment:{aid}:booked:0", f"appointment:{aid}:r0:reminder:1440m", f"appointment:{aid}:r0:reminder:120m")
        for channel in ("email", "sms")
    )


async def _count_at_least(aid: str, count: int):
    found = await notifications_of(aid)
    return found if len(found) >= count else None
