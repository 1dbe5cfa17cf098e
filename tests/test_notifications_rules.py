"""Preferences API, quiet hours (across DST changes), channel choice, and templates in two timezones."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime

import pytest

from engage.actions.notifications import request_notification
from engage.lib.notification_templates import render_notification
from engage.lib.notification_templates import sms_segments
from engage.lib.notifications import KIND_CATEGORY
from engage.lib.notifications import quiet_hours_end
from engage.models.notification import QuietHours

CONTEXTS = {
    "appointment_reminder": {"appointment_id": "a", "doctor_name": "Dr Ada Heart", "clinic_name": "North Clinic", "start": "2027-01-15T14:00:00Z", "clinic_timezone": "Europe/Paris"},
    "booking_sms_reply": {"text": "Your appointment is confirmed."},
    "waitlist_offer": {"doctor_name": "Dr Ada Heart", "start": "2027-01-15T14:00:00Z", "clinic_timezone": "Europe/Paris", "expires_at": "2027-01-14T18:00:00Z"},
    "medication_reminder": {"schedule_id": "s"},
    "missed_messages": {"count": 3, "sender_name": "Dr Ada Heart", "conversation_id": "c"},
    "vitals_alert": {"patient_name": "Bob Stone", "severity": "critical", "alert_id": "x"},
    "vitals_no_data": {"patient_name": "Bob Stone", "days": 3},
    "advice_ready": {"advice_id": "a"},
    "emergency_access": {"doctor_name": "Dr Ada Heart", "until": "2027-01-15T14:00:00Z"},
    "emergency_access_review": {"doctor_name": "Dr Ada Heart", "until": "2027-01-15T14:00:00Z", "relation_id": "r"},
    "pharmacy_order_placed": {"order_id": "o", "clinic_name": "North Clinic", "total": "12.50", "currency": "USD", "item_count": 2, "hold_until": "2027-01-15T14:00:00Z"},
    "pharmacy_order_ready": {"order_id": "o", "clinic_name": "North Clinic", "total": "12.50", "currency": "USD", "item_count": 2, "hold_until": "2027-01-15T14:00:00Z"},
    "pharmacy_low_stock": {"item_id": "i", "item_name": "Metformin 500 mg", "stock": 3, "threshold": 5},
}
# Accounts (issue 19): the secret values the sender adds from engage/actions/notification_secrets.py.
_ACCOUNT_SECRET = {"secret_ref": "r", "expires_minutes": 10, "token": "t" * 43, "code": "123456"}
for _kind in ("email_verification", "password_reset", "sign_in_code_email", "sign_in_code_sms", "phone_verification"):
    CONTEXTS[_kind] = _ACCOUNT_SECRET
CONTEXTS["clinic_application_received"] = {"clinic_name": "North Clinic"}
CONTEXTS["clinic_application_decided"] = {"clinic_name": "North Clinic", "approved": False, "reason": "We could not confirm the licence."}
CONTEXTS["staff_invite"] = {**_ACCOUNT_SECRET, "clinic_name": "North Clinic", "role": "receptionist"}
CONTEXTS["clinic_membership_decided"] = {"clinic_name": "North Clinic", "approved": False, "reason": "We already have enough cardiologists."}
CONTEXTS["doctor_account_rejected"] = {"reason": "We could not confirm your medical licence."}
for _kind in ("appointment_booked", "appointment_cancelled", "appointment_rescheduled"):
    CONTEXTS[_kind] = CONTEXTS["appointment_reminder"]


def key() -> str:
    return f"rules:{uuid.uuid4().hex}"


async def test_preferences_default_then_partial_update(api, make_patient):
    patient = await make_patient(timezone="America/New_York")
    got = await api.get("/api/me/preferences", token=patient.access_token)
    assert got.status == 200
    assert got.body["preferences"] == {
        "channels": {"reminders": ["email", "sms"], "messages": ["email"], "alerts": ["email", "sms"]},
        "quiet_hours": None,
        "opted_out": False,
        "sms_opted_out": False,
        "timezone": "America/New_York",
    }
    put = await api.put("/api/me/preferences", {"channels": {"messages": ["sms", "email"]}, "quiet_hours": {"start": "22:00", "end": "07:00"}}, token=patient.access_token)
    assert put.status == 200
    assert put.body["preferences"]["channels"] == {"reminders": ["email", "sms"], "messages": ["sms", "email"], "alerts": ["email", "sms"]}
    assert put.body["preferences"]["quiet_hours"] == {"start": "22:00", "end": "07:00"}
    off = await api.put("/api/me/preferences", {"quiet_hours": None, "opted_out": True}, token=patient.access_token)
    assert off.body["preferences"]["quiet_hours"] is None and off.body["preferences"]["opted_out"] is True
    assert off.body["preferences"]["channels"]["messages"] == ["sms", "email"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channels": {"reminders": ["pigeon"]}}, "channels.reminders.0"),
        ({"channels": {"reminders": ["sms", "sms"]}}, "channels.reminders"),
        ({"channels": {"gossip": ["sms"]}}, "channels.gossip"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
        ({"opted_out": "maybe"}, "opted_out"),
        ({"volume": 11}, "volume"),
    ],
)
async def test_invalid_preferences_are_refused_with_the_field(api, make_patient, body, field):
    patient = await make_patient()
    resp = await api.put("/api/me/preferences", body, token=patient.access_token)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["code"] == "validation_error" and resp.body["error"]["field"] == field
    assert (await api.get("/api/me/preferences", token=patient.access_token)).body["preferences"]["quiet_hours"] is None


async def test_preferences_need_a_login(api):
    assert (await api.get("/api/me/preferences")).status == 401
    assert (await api.put("/api/me/preferences", {"opted_out": True})).status == 401


@pytest.mark.parametrize(
    ("not_before", "expected_due"),
    [
        # 22:30 EST on the eve of the spring change: quiet hours end at 07:00 EDT = 11:00 UTC, not 12:00.
        ("2027-03-14T03:30:00+00:00", "2027-03-14T11:00:00+00:00"),
        # 23:30 EDT on the eve of the autumn change: 07:00 EST = 12:00 UTC, not 11:00.
        ("2027-11-07T03:30:00+00:00", "2027-11-07T12:00:00+00:00"),
        # 03:00 local on the spring change day itself (02:00-03:00 does not exist).
        ("2027-03-14T07:00:00+00:00", "2027-03-14T11:00:00+00:00"),
        # 10:00 EDT is outside quiet hours: no deferral.
        ("2027-03-14T14:00:00+00:00", "2027-03-14T14:00:00+00:00"),
    ],
)
async def test_quiet_hours_defer_to_their_local_end_across_dst(api, db, make_patient, not_before, expected_due):
    patient = await make_patient(timezone="America/New_York")
    await api.put("/api/me/preferences", {"quiet_hours": {"start": "22:00", "end": "07:00"}}, token=patient.access_token)
    made = await request_notification(
        recipient_id=patient.id, kind="advice_ready", idempotency_key=key(), context={"advice_id": "a"}, not_before=datetime.fromisoformat(not_before)
    )
    assert [n.due_at.isoformat() for n in made] == [expected_due]


async def test_critical_notifications_ignore_quiet_hours(api, db, make_patient):
    patient = await make_patient(timezone="America/New_York")
    await api.put("/api/me/preferences", {"quiet_hours": {"start": "22:00", "end": "07:00"}}, token=patient.access_token)
    when = datetime(2027, 3, 14, 3, 30, tzinfo=UTC)
    made = await request_notification(
        recipient_id=patient.id, kind="vitals_alert", idempotency_key=key(), context=CONTEXTS["vitals_alert"], not_before=when, critical=True
    )
    assert [(n.due_at, n.critical) for n in made] == [(when, True)]


async def test_opted_out_users_get_suppressed_notifications_and_channels_follow_preferences(api, db, make_patient):
    patient = await make_patient(phone="+14155550188")
    await api.put("/api/me/preferences", {"channels": {"messages": [], "alerts": ["sms"]}}, token=patient.access_token)
    assert await request_notification(recipient_id=patient.id, kind="missed_messages", idempotency_key=key(), context=CONTEXTS["missed_messages"]) == []
    alerts = await request_notification(recipient_id=patient.id, kind="vitals_no_data", idempotency_key=key(), context=CONTEXTS["vitals_no_data"],
                                        not_before=datetime(2030, 1, 1, tzinfo=UTC))
    assert [n.channel for n in alerts] == ["sms"]
    await api.put("/api/me/preferences", {"opted_out": True}, token=patient.access_token)
    made = await request_notification(recipient_id=patient.id, kind="appointment_booked", idempotency_key=key(), context=CONTEXTS["appointment_booked"])
    assert sorted((n.channel, n.status, n.suppressed_reason) for n in made) == [("email", "suppressed", "opted_out"), ("sms", "suppressed", "opted_out")]


async def test_unknown_kind_is_a_programming_error(db, make_patient):
    patient = await make_patient()
    with pytest.raises(ValueError, match="unknown notification kind"):
        await request_notification(recipient_id=patient.id, kind="horoscope", idempotency_key=key(), context={})


def test_quiet_hours_within_one_day():
    quiet = QuietHours(start="01:00", end="06:00")
    assert quiet_hours_end(datetime(2027, 6, 1, 0, 30, tzinfo=UTC), "Europe/Paris", quiet) == datetime(2027, 6, 1, 4, 0, tzinfo=UTC)  # 02:30 CEST
    assert quiet_hours_end(datetime(2027, 6, 1, 5, 0, tzinfo=UTC), "Europe/Paris", quiet) is None  # 07:00 CEST


def test_templates_render_times_in_the_recipients_timezone():
    ctx = CONTEXTS["appointment_reminder"]
    paris = render_notification("appointment_reminder", "sms", ctx, "Ada", "Europe/Paris", None)
    la = render_notification("appointment_reminder", "sms", ctx, "Ada", "America/Los_Angeles", None)
    assert paris.text == "Reminder: Dr Ada Heart, North Clinic, Fri 15 Jan 15:00. Reply C to confirm, X to cancel."
    assert la.text == "Reminder: Dr Ada Heart, North Clinic, Fri 15 Jan 06:00. Reply C to confirm, X to cancel."
    paris_mail = render_notification("appointment_reminder", "email", ctx, "Ada", "Europe/Paris", "https://engage.example.org")
    la_mail = render_notification("appointment_reminder", "email", ctx, "Ada", "America/Los_Angeles", "https://engage.example.org")
    assert paris_mail.subject == "Reminder: your appointment on Fri 15 Jan 2027, 15:00 CET"
    assert la_mail.subject == "Reminder: your appointment on Fri 15 Jan 2027, 06:00 PST"
    assert "with Dr Ada Heart at North Clinic on Fri 15 Jan 2027, 06:00 PST" in la_mail.text
    assert '<a href="https://engage.example.org">Open Engage</a>' in la_mail.html


@pytest.mark.parametrize("kind", sorted(KIND_CATEGORY))
@pytest.mark.parametrize("timezone", ["Europe/Paris", "Asia/Tokyo"])
def test_every_kind_renders_one_sms_segment_and_a_full_email(kind, timezone):
    sms = render_notification(kind, "sms", CONTEXTS[kind], "Ada", timezone, None)
    assert sms.subject is None and sms.html is None
    assert sms_segments(sms.text) == 1, sms.text
    email = render_notification(kind, "email", CONTEXTS[kind], "Ada <script>", timezone, "https://e.example")
    assert email.subject and "\n" not in email.subject
    assert "Ada <script>" in email.text and "&lt;script&gt;" in email.html and "<script>" not in email.html


def test_alerts_and_message_notices_carry_no_health_details():
    alert = render_notification("vitals_alert", "email", CONTEXTS["vitals_alert"], "Dr Who", "UTC", None)
    missed = render_notification("missed_messages", "sms", CONTEXTS["missed_messages"], "Ada", "UTC", None)
    assert missed.text == "Engage: 3 unread messages from Dr Ada Heart. Open the app to read."
    assert alert.subject == "Critical vitals alert for Bob Stone"
    for word in ("mmHg", "bpm", "glucose", "pressure"):
        assert word not in alert.text
