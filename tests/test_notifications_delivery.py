"""Sending through the real Twilio and SendGrid SDKs to a local recording server, with real workers.

Covers exact provider requests, retries and permanent failures, STOP/START, webhook signatures,
a worker SIGKILLed mid-call, and two schedulers at once.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import time
import uuid
from datetime import timedelta

import pytest
from beanie import PydanticObjectId

from engage.actions.notifications import enqueue_notifications
from engage.actions.notifications import request_notification
from engage.actions.sms_replies import handle_inbound_sms
from engage.models.base import utcnow
from engage.models.notification import InboundSms
from engage.models.notification import Notification
from engage.models.notification import SmsOptOut
from engage.models.user import User
from tests.clients import Api
from tests.conftest import login
from tests.notify_stack import PUBLIC_URL
from tests.notify_stack import SMS_FROM
from tests.notify_stack import TWILIO_SID
from tests.notify_stack import TWILIO_TOKEN
from tests.notify_stack import Stack
from tests.notify_stack import redis_db_url
from tests.notify_stack import redis_of
from tests.notify_stack import sendgrid_signature
from tests.notify_stack import stack_env
from tests.notify_stack import twilio_signature
from tests.notify_stack import unique_phone
from tests.provider_server import ProviderServer
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.servers import start_engage
from tests.waiting import wait_until

REDIS_DB = 3
APPOINTMENT = {
    "appointment_id": "65f000000000000000000001",
    "doctor_name": "Dr Ada Heart",
    "clinic_name": "North Clinic",
    "start": "2026-03-09T15:30:00Z",
    "clinic_timezone": "Europe/Paris",
}


@pytest.fixture(scope="module")
def stack(engage_environment, tmp_root, web):
    provider = ProviderServer().start()
    env = stack_env(engage_environment, provider, REDIS_DB)
    web_proc = start_engage("web", env, tmp_root)
    s = Stack(provider, env, web_proc, [], tmp_root)
    s.start("worker")
    yield s
    for proc in s.workers:
        proc.stop()
    web_proc.stop()
    provider.stop()
    if os.environ.get("ENGAGE_TEST_KEEP_LOGS"):  # debugging aid: keep the processes' logs
        import shutil

        shutil.copytree(tmp_root, os.environ["ENGAGE_TEST_KEEP_LOGS"], dirs_exist_ok=True, ignore=shutil.ignore_patterns("redis"))


@pytest.fixture(scope="module")
async def on_stack(stack, db, settings):
    """This process enqueues into the stack's Redis database, where the stack's workers listen."""
    async with redis_of(settings, stack.env["REDIS_URL"]):
        yield stack


@pytest.fixture(scope="module")
async def stack_api(http_session, stack) -> Api:
    return Api(http_session, stack.web.url)


@pytest.fixture(scope="module")
async def stack_admin(stack_api):
    return await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)


def key() -> str:
    return f"test:{uuid.uuid4().hex}"


async def wait_status(nid, statuses: set[str], timeout: float = 20) -> Notification:
    async def reached() -> Notification | None:
        doc = await Notification.get(PydanticObjectId(str(nid)))
        return doc if doc is not None and doc.status.value in statuses else None

    return await wait_until(reached, timeout, what=f"notification {nid} {'/'.join(sorted(statuses))}")


async def signed_post(api: Api, path: str, form: dict[str, str], signature: str | None = None):
    sig = twilio_signature(path, form) if signature is None else signature
    async with api.session.post(api.base_url + path, data=form, headers={"X-Twilio-Signature": sig}) as resp:
        return resp.status, await resp.text()


async def test_sms_and_email_reach_the_providers_as_exact_sdk_requests(on_stack, make_patient):
    provider = on_stack.provider
    phone = unique_phone()
    patient = await make_patient(phone=phone, timezone="Europe/Paris", name="Ada Patient")
    made = await request_notification(recipient_id=patient.id, kind="appointment_booked", idempotency_key=key(), context=APPOINTMENT)
    by_channel = {n.channel: n for n in made}
    sms = await wait_status(by_channel["sms"].id, {"sent"})
    email = await wait_status(by_channel["email"].id, {"sent"})

    (tw,) = provider.sent_to(phone, "twilio")
    assert tw.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert tw.headers["Authorization"] == "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
    assert tw.form == {
        "To": phone,
        "From": SMS_FROM,
        "Body": "Booked: Dr Ada Heart, North Clinic, Mon 9 Mar 16:30.",
        "StatusCallback": f"{PUBLIC_URL}/webhooks/twilio/status",
    }
    (accepted,) = [m for m in provider.twilio_accepted if m["to"] == phone]
    assert sms.provider == "twilio" and sms.provider_message_id == accepted["sid"]
    assert sms.attempts == 1 and sms.text == tw.form["Body"]

    (sg,) = provider.sent_to(patient.email, "sendgrid")
    assert sg.path == "/v3/mail/send"
    assert sg.headers["Authorization"] == "Bearer SG.test-key"
    assert sg.json["from"] == {"email": "no-reply@clinic.example.org", "name": "Engage"}
    assert sg.json["personalizations"] == [{"to": [{"email": patient.email}]}]
    assert sg.json["subject"] == "Appointment booked for Mon 9 Mar 2026, 16:30 CET"
    assert sg.json["custom_args"] == {"notification_id": str(email.id)}
    assert [c["type"] for c in sg.json["content"]] == ["text/plain", "text/html"]
    assert "Dr Ada Heart at North Clinic is booked for Mon 9 Mar 2026, 16:30 CET" in sg.json["content"][0]["value"]
    assert email.provider == "sendgrid" and email.provider_message_id and email.status == "sent"


async def test_transient_errors_are_retried_with_growing_backoff(on_stack, make_patient):
    provider = on_stack.provider
    phone = unique_phone()
    patient = await make_patient(phone=phone)
    provider.script(phone, (503, {"code": 20500, "message": "Internal error", "status": 503}), (429, {"code": 20429, "message": "Too many requests", "status": 429}))
    made = await request_notification(recipient_id=patient.id, kind="medication_reminder", idempotency_key=key(), context={"schedule_id": "s1"})
    (sms,) = [n for n in made if n.channel == "sms"]
    done = await wait_status(sms.id, {"sent"})
    posts = provider.sent_to(phone, "twilio")
    assert [p.status for p in posts] == [503, 429, 201]
    assert done.attempts == 3 and done.last_error is None
    first_gap, second_gap = posts[1].at - posts[0].at, posts[2].at - posts[1].at
    assert first_gap >= 0.3 and second_gap >= 0.6  # base 0.3 s, doubled


async def test_permanent_error_fails_at_once_without_retry(on_stack, make_patient):
    provider = on_stack.provider
    phone = unique_phone()
    patient = await make_patient(phone=phone)
    provider.script(phone, (400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}))
    made = await request_notification(recipient_id=patient.id, kind="medication_reminder", idempotency_key=key(), context={"schedule_id": "s1"})
    (sms,) = [n for n in made if n.channel == "sms"]
    failed = await wait_status(sms.id, {"failed"})
    assert failed.attempts == 1 and "21211" in failed.last_error
    assert len(provider.sent_to(phone, "twilio")) == 1


async def test_exhausted_retries_fail_and_an_admin_retry_sends(on_stack, make_patient, stack_api, stack_admin):
    provider = on_stack.provider
    patient = await make_patient()
    provider.script(patient.email, *[(500, {"errors": [{"message": "boom"}]})] * 3)
    (email,) = await request_notification(recipient_id=patient.id, kind="advice_ready", idempotency_key=key(), context={"advice_id": "a1"})
    failed = await wait_status(email.id, {"failed"})
    assert failed.attempts == 3 and "sendgrid 500" in failed.last_error

    listed = await stack_api.get(f"/api/admin/outbox?status=failed&recipient={patient.id}", token=stack_admin.access_token)
    assert listed.status == 200 and [n["id"] for n in listed.body["notifications"]] == [str(email.id)]
    assert listed.body["notifications"][0]["kind"] == "advice_ready"

    resp = await stack_api.post(f"/api/admin/outbox/{email.id}/retry", token=stack_admin.access_token)
    assert resp.status == 200 and resp.body["notification"]["status"] == "queued"
    sent = await wait_status(email.id, {"sent"})
    assert sent.attempts == 1 and len(provider.sent_to(patient.email, "sendgrid")) == 4

    again = await stack_api.post(f"/api/admin/outbox/{email.id}/retry", token=stack_admin.access_token)
    assert again.status == 409 and again.error_code == "not_failed"
    patient_token = (await stack_api.get("/api/admin/outbox", token=patient.access_token)).status
    assert patient_token == 403


async def test_stop_suppresses_sms_until_start(on_stack, make_patient, stack_api):
    provider = on_stack.provider
    phone = unique_phone()
    patient = await make_patient(phone=phone)
    status, body = await signed_post(stack_api, "/webhooks/twilio/sms", {"MessageSid": "SM" + uuid.uuid4().hex, "From": phone, "To": SMS_FROM, "Body": " stop "})
    assert status == 200 and "<Message>" not in body
    assert await SmsOptOut.find_one({"phone": phone}) is not None
    prefs = await stack_api.get("/api/me/preferences", token=patient.access_token)
    assert prefs.body["preferences"]["sms_opted_out"] is True

    made = await request_notification(recipient_id=patient.id, kind="medication_reminder", idempotency_key=key(), context={"schedule_id": "s1"})
    (sms,) = [n for n in made if n.channel == "sms"]
    suppressed = await wait_status(sms.id, {"suppressed"})
    assert suppressed.suppressed_reason == "sms_stop" and provider.sent_to(phone) == []

    status, body = await signed_post(stack_api, "/webhooks/twilio/sms", {"MessageSid": "SM" + uuid.uuid4().hex, "From": phone, "To": SMS_FROM, "Body": "START"})
    assert status == 200 and "<Message>You will receive Engage texts again." in body
    assert await SmsOptOut.find_one({"phone": phone}) is None
    made = await request_notification(recipient_id=patient.id, kind="medication_reminder", idempotency_key=key(), context={"schedule_id": "s1"})
    (sms,) = [n for n in made if n.channel == "sms"]
    await wait_status(sms.id, {"sent"})
    assert len(provider.sent_to(phone, "twilio")) == 1


async def test_help_answers_with_the_clinic_contact(on_stack, make_patient, stack_api):
    phone = unique_phone()
    await make_patient(phone=phone)
    status, body = await signed_post(stack_api, "/webhooks/twilio/sms", {"MessageSid": "SM" + uuid.uuid4().hex, "From": phone, "Body": "help"})
    assert status == 200
    assert "<Message>Engage: Call North Clinic on +1 415 555 0100. Reply STOP to opt out.</Message>" in body


@pytest.mark.parametrize("path", ["/webhooks/twilio/sms", "/webhooks/twilio/status"])
async def test_bad_twilio_signatures_get_403_and_change_nothing(on_stack, make_patient, stack_api, path):
    phone = unique_phone()
    await make_patient(phone=phone)
    sid = "SM" + uuid.uuid4().hex
    form = {"MessageSid": sid, "From": phone, "Body": "STOP", "MessageStatus": "delivered"}
    tampered_sig = twilio_signature(path, {**form, "Body": "HELLO"})
    for signature in ("", "bm90LWEtc2lnbmF0dXJl", tampered_sig, twilio_signature(path, form, token="another-token")):
        status, body = await signed_post(stack_api, path, form, signature=signature)
        assert status == 403, body
        assert json.loads(body)["error"]["code"] == "invalid_signature"
    assert await SmsOptOut.find_one({"phone": phone}) is None
    assert await InboundSms.find_one({"message_sid": sid}) is None


async def test_unclear_reply_is_stored_for_staff(on_stack, make_patient, stack_api, stack_admin):
    phone = unique_phone()
    patient = await make_patient(phone=phone)
    sid = "SM" + uuid.uuid4().hex
    for _ in range(2):  # Twilio retries a webhook: handled once
        status, _ = await signed_post(stack_api, "/webhooks/twilio/sms", {"MessageSid": sid, "From": phone, "Body": "what time again?"})
        assert status == 200
    replies = await stack_api.get("/api/admin/sms-replies?outcome=unclear", token=stack_admin.access_token)
    mine = [r for r in replies.body["replies"] if r["from_number"] == phone]
    assert len(mine) == 1 and mine[0]["body"] == "what time again?" and mine[0]["user_id"] == patient.id


async def test_a_reply_handler_takes_the_reply_and_gets_its_confirmation_sent(on_stack, make_patient):
    phone = unique_phone()
    patient = await make_patient(phone=phone)
    # Inbound SMS match verified numbers only (issue 19); this process reads the default settings.
    await User.get_pymongo_collection().update_one({"_id": PydanticObjectId(patient.id)}, {"$set": {"phone_verified": True}})
    seen: list[tuple[str, str]] = []

    async def confirm(user: User, text: str) -> str | None:
        # Handed in instead of the capabilities' handlers (engage.actions.sms_replies.REPLY_HANDLERS).
        if text.upper() == "PING" and str(user.id) == patient.id:
            seen.append((str(user.id), text))
            return "Your appointment is confirmed."
        return None

    sid = "SM" + uuid.uuid4().hex
    assert await handle_inbound_sms(sid, phone, "PING", "Call us.", handlers=(confirm,)) is None
    assert seen == [(patient.id, "PING")]
    (reply,) = await Notification.find({"idempotency_key": f"sms-reply:{sid}"}).to_list()
    assert reply.kind == "booking_sms_reply" and reply.channel == "sms" and reply.critical
    sent = await wait_status(reply.id, {"sent"})
    assert sent.text == "Your appointment is confirmed."
    assert (await InboundSms.find_one({"message_sid": sid})).outcome == "handled"


async def test_status_and_event_webhooks_record_delivery_and_bounces(on_stack, make_patient, stack_api):
    provider = on_stack.provider
    phone = unique_phone()
    patient = await make_patient(phone=phone)
    made = await request_notification(recipient_id=patient.id, kind="advice_ready", idempotency_key=key(), context={"advice_id": "a"})
    by = {n.channel: await wait_status(n.id, {"sent"}) for n in made}

    status, _ = await signed_post(stack_api, "/webhooks/twilio/status", {"MessageSid": by["sms"].provider_message_id, "MessageStatus": "delivered"})
    assert status == 204
    assert (await wait_status(by["sms"].id, {"delivered"})).delivered_at is not None

    events = json.dumps([{"email": patient.email, "event": "bounce", "reason": "mailbox full", "notification_id": str(by["email"].id)}])
    timestamp = str(int(time.time()))
    bad = await stack_api.post(
        "/webhooks/sendgrid/events",
        data=events,
        headers={"Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": sendgrid_signature(events + " ", timestamp),
                 "X-Twilio-Email-Event-Webhook-Timestamp": timestamp},
    )
    assert bad.status == 403 and bad.error_code == "invalid_signature"
    assert (await Notification.get(by["email"].id)).status == "sent"
    good = await stack_api.post(
        "/webhooks/sendgrid/events",
        data=events,
        headers={"Content-Type": "application/json", "X-Twilio-Email-Event-Webhook-Signature": sendgrid_signature(events, timestamp),
                 "X-Twilio-Email-Event-Webhook-Timestamp": timestamp},
    )
    assert good.status == 200 and good.body == {"updated": 1}
    bounced = await Notification.get(by["email"].id)
    assert bounced.status == "failed" and bounced.last_error == "sendgrid bounce: mailbox full"
    assert len(provider.sent_to(phone)) == 1


async def test_sigkill_mid_provider_call_still_sends_each_notification_exactly_once(on_stack, make_patient):
    """The worker dies while Twilio holds its request; recovery asks Twilio instead of sending again."""
    provider = on_stack.provider
    for proc in on_stack.workers:
        proc.stop()
    on_stack.workers.clear()
    held_phone = unique_phone()
    held = await make_patient(phone=held_phone)
    others = [await make_patient(phone=unique_phone()) for _ in range(3)]
    docs = []
    for user in [held, *others]:
        doc = Notification(
            recipient_id=PydanticObjectId(user.id), channel="sms", kind="medication_reminder", category="reminders",
            template="medication_reminder/sms", context={"schedule_id": "s"}, idempotency_key=key(),
        )
        await doc.insert()
        docs.append(doc)
    provider.hold(held_phone)
    # One worker taking one call at a time: the held call first, the other three not yet claimed.
    victim = on_stack.start("worker", ENGAGE_NOTIFICATION_CONCURRENCY="1")
    await enqueue_notifications(docs)
    await wait_until(lambda: len(provider.sent_to(held_phone)) == 1, timeout=30, what="the held SMS sent")
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    provider.release()
    assert (await Notification.get(docs[0].id)).status == "sending"

    on_stack.start("worker")  # its start hook finds the dead claim and the dead job
    for doc in docs:
        await wait_status(doc.id, {"sent"}, timeout=30)
    for user in [held, *others]:
        assert len(provider.sent_to(user.user["phone"], "twilio")) == 1
    reconciled = await Notification.get(docs[0].id)
    assert reconciled.provider_message_id in {m["sid"] for m in provider.twilio_accepted if m["to"] == held_phone}


async def test_sigkill_mid_batch_sends_every_notification_of_the_batch_exactly_once(on_stack, make_patient):
    """One send job of twelve, killed with its first chunk at Twilio: sent, in-flight and unclaimed alike go out once."""
    provider = on_stack.provider
    for proc in on_stack.workers:
        proc.stop()
    on_stack.workers.clear()
    users = [await make_patient(phone=unique_phone()) for _ in range(12)]
    docs = []
    for user in users:
        doc = Notification(
            recipient_id=PydanticObjectId(user.id), channel="sms", kind="medication_reminder", category="reminders",
            template="medication_reminder/sms", context={"schedule_id": "s"}, idempotency_key=key(),
        )
        await doc.insert()
        docs.append(doc)
    held_phone = users[1].user["phone"]
    provider.hold(held_phone)
    # Chunks of four, one at a time: the held call stops its chunk while the batch's other chunks wait unclaimed.
    victim = on_stack.start("worker", ENGAGE_NOTIFICATION_CONCURRENCY="4")
    await enqueue_notifications(docs)  # one job: the batch size is 100
    await wait_until(lambda: len(provider.sent_to(held_phone)) == 1, timeout=30, what="the held SMS sent")
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait()
    provider.release()
    at_kill = {str(d.id): (await Notification.get(d.id)).status for d in docs}
    assert at_kill[str(docs[1].id)] == "sending" and "queued" in at_kill.values(), at_kill

    on_stack.start("worker")  # its start hook finds the dead claims and the dead job
    for doc in docs:
        await wait_status(doc.id, {"sent"}, timeout=60)
    for user in users:
        assert len(provider.sent_to(user.user["phone"], "twilio")) == 1
    reconciled = await Notification.get(docs[1].id)
    assert reconciled.provider_message_id in {m["sid"] for m in provider.twilio_accepted if m["to"] == held_phone}


async def test_two_schedulers_enqueue_each_due_notification_once(on_stack, make_patient, tmp_root):
    provider = on_stack.provider
    patient = await make_patient()
    due = utcnow() + timedelta(seconds=2)
    made = []
    for _ in range(40):
        made += await request_notification(recipient_id=patient.id, kind="advice_ready", idempotency_key=key(), context={"advice_id": "a"}, not_before=due)
    assert len(made) == 40 and all(n.status == "queued" for n in made)
    schedulers = [start_engage("scheduler", on_stack.env, tmp_root) for _ in range(2)]
    try:
        for n in made:
            await wait_status(n.id, {"sent"}, timeout=40)
    finally:
        for proc in schedulers:
            proc.stop()
    ids = [r.notification_id for r in provider.sent_to(patient.email, "sendgrid")]
    assert sorted(ids) == sorted(str(n.id) for n in made)  # every one once, none twice


def test_stack_uses_its_own_redis_database(stack, engage_environment):
    assert stack.env["REDIS_URL"] == redis_db_url(engage_environment["REDIS_URL"], REDIS_DB)
