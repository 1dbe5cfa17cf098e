"""One presence for chat and vitals alerts: when the web process holding a doctor's only socket is
SIGKILLed, the patient sees the doctor go offline and an alert raised right after reaches the
doctor as a notification (email and SMS through the real SDKs); while the socket lives, the alert
goes to it and not out as a notification."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta

import pytest
import redis
from beanie import PydanticObjectId
from rq import Queue
from rq.job import Job

from engage.models.base import utcnow
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.models.vitals import PatientMonitoring
from schemas.vitals import AlertEvent
from tests.clients import Api
from tests.notify_stack import stack_env
from tests.notify_stack import unique_phone
from tests.provider_server import ProviderServer
from tests.servers import start_engage
from tests.vitals_helpers import bp
from tests.waiting import wait_until

REDIS_DB = 12  # presence, sockets and queues of this module's processes, apart from the suite's


@pytest.fixture(scope="module")
def stack(engage_environment, tmp_root, web):
    """A provider capture server, a web process and a worker pointed at it."""
    provider = ProviderServer().start()
    env = stack_env(engage_environment, provider, REDIS_DB)
    web_a = start_engage("web", env, tmp_root)
    worker = start_engage("worker", env, tmp_root)
    yield provider, env, web_a
    worker.stop()
    web_a.stop()
    provider.stop()


@pytest.fixture
def second_web(stack, tmp_root):
    """A second web process of the stack (a test may kill it)."""
    _provider, env, _web_a = stack
    proc = start_engage("web", env, tmp_root)
    yield proc
    proc.kill()


async def care_pair(http_session, web_a, make_patient, make_doctor, name: str):
    """A patient who opened a conversation with a doctor (so the doctor is in their care team and a
    contact), the doctor with a phone and email and SMS for alerts."""
    patient = await make_patient(name=name)
    doctor = await make_doctor(phone=unique_phone())
    await NotificationPreferences(
        user_id=PydanticObjectId(doctor.id), channels={"reminders": ["email"], "messages": ["email"], "alerts": ["email", "sms"]}
    ).insert()
    resp = await Api(http_session, web_a.url).post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    assert resp.status in (200, 201), resp.body
    return patient, doctor


async def raise_crisis(patient_socket) -> str:
    ack = await patient_socket.call("vitals:submit", bp(200, 110))
    assert ack["ok"] is True and ack["status"] == "created", ack
    return ack["id"]


@pytest.mark.timeout(240)
async def test_alert_after_the_doctors_process_is_killed_goes_out_as_notification(
    stack, second_web, db, http_session, connect, make_patient, make_doctor
):
    provider, _env, web_a = stack
    patient, doctor = await care_pair(http_session, web_a, make_patient, make_doctor, "Failover Patient")
    patient_socket = await connect(patient.access_token, url=web_a.url)
    await connect(doctor.access_token, url=second_web.url)  # the doctor's only socket
    await patient_socket.wait_for("presence", lambda e: e == {"user_id": doctor.id, "status": "online"})

    os.kill(second_web.process.pid, signal.SIGKILL)
    second_web.process.wait()
    await raise_crisis(patient_socket)

    phone = doctor.user["phone"]

    async def email_and_sms() -> bool:
        return bool(provider.sent_to(doctor.email, "sendgrid") and provider.sent_to(phone, "twilio"))

    await wait_until(email_and_sms, timeout=90)
    (sms,) = provider.sent_to(phone, "twilio")
    assert sms.form["Body"].startswith("Engage: critical vitals alert for Failover Patient")
    assert "200" not in sms.form["Body"]  # no values leave the system
    (email,) = provider.sent_to(doctor.email, "sendgrid")
    assert email.json["subject"] == "Critical vitals alert for Failover Patient"

    offline = await patient_socket.wait_for("presence", lambda e: e == {"user_id": doctor.id, "status": "offline"}, timeout=60)
    assert offline == {"user_id": doctor.id, "status": "offline"}
    listing = await Api(http_session, web_a.url).get("/api/conversations", token=patient.access_token)
    assert listing.status == 200 and listing.body["conversations"][0]["other_party"]["online"] is False


@pytest.fixture
def lone_web(engage_environment, tmp_root, web):
    """A web process and a worker with a Redis database of their own: once the web process is
    killed, no other process is left to clean up its sockets."""
    provider = ProviderServer().start()
    env = stack_env(engage_environment, provider, REDIS_DB + 1)
    proc = start_engage("web", env, tmp_root)
    worker = start_engage("worker", env, tmp_root)
    yield provider, env, proc
    worker.stop()
    proc.kill()
    provider.stop()


@pytest.mark.timeout(240)
async def test_sockets_of_a_dead_process_stop_counting_before_any_cleanup(lone_web, db, http_session, connect, make_patient, make_doctor):
    """The worker raises a no-data alert after the doctor's process died; the dead socket is still
    recorded (nobody cleaned it up), yet the doctor counts as offline and is notified."""
    provider, env, proc = lone_web
    patient, doctor = await care_pair(http_session, proc, make_patient, make_doctor, "Silent Patient")
    await connect(doctor.access_token, url=proc.url)
    resp = await Api(http_session, proc.url).put(f"/api/patients/{patient.id}/monitoring", {"enrolled": True, "no_data_hours": 2},
                                                 token=doctor.access_token)
    assert resp.status == 200, resp.body
    await PatientMonitoring.find_one(PatientMonitoring.patient_id == PydanticObjectId(patient.id)).update(
        {"$set": {"enrolled_at": utcnow() - timedelta(hours=3)}}
    )

    os.kill(proc.process.pid, signal.SIGKILL)
    proc.process.wait()
    connection = redis.Redis.from_url(env["REDIS_URL"])
    try:
        await asyncio.to_thread(Queue("default", connection=connection).enqueue, "workers.vitals.scan_no_data")
    finally:
        connection.close()

    async def emailed() -> list:
        return provider.sent_to(doctor.email, "sendgrid")

    (email,) = await wait_until(emailed, timeout=90)
    assert email.json["subject"].startswith("No vitals from Silent Patient")


@pytest.mark.timeout(180)
async def test_alert_to_a_live_socket_is_not_sent_as_notification(stack, second_web, db, http_session, connect, make_patient, make_doctor):
    """The doctor's socket is on the other web process, which stays alive."""
    provider, env, web_a = stack
    patient, doctor = await care_pair(http_session, web_a, make_patient, make_doctor, "Watched Patient")
    doctor_socket = await connect(doctor.access_token, url=second_web.url)
    patient_socket = await connect(patient.access_token, url=web_a.url)
    await raise_crisis(patient_socket)

    alert = AlertEvent.model_validate(await doctor_socket.wait_for("vitals:alert")).alert
    # The look again after a process could have died finds the doctor still online.
    connection = redis.Redis.from_url(env["REDIS_URL"])
    try:
        job_id = f"vitals-delivery-{alert.id}-1"

        def finished() -> Job | None:
            job = Job.fetch(job_id, connection=connection)
            return job if job.get_status(refresh=True) == "finished" else None

        async def checked() -> Job | None:
            return await asyncio.to_thread(finished)

        job = await wait_until(checked, timeout=90)
        assert job.return_value() is False
    finally:
        connection.close()
    assert await Notification.find({"recipient_id": PydanticObjectId(doctor.id), "context.alert_id": alert.id}).count() == 0
    assert provider.sent_to(doctor.email) == [] and provider.sent_to(doctor.user["phone"]) == []


@pytest.mark.timeout(180)
async def test_a_process_taken_for_dead_while_stalled_records_its_sockets_again(stack, tmp_root, db, http_session, connect, make_patient, make_doctor):
    """SIGSTOP a web process past its alive key: the other process announces its doctor offline;
    once it runs again (the socket never dropped: production ping timings) the doctor is online again."""
    _provider, env, web_a = stack
    stalled = start_engage("web", {**env, "ENGAGE_PING_INTERVAL": "25", "ENGAGE_PING_TIMEOUT": "20"}, tmp_root)
    try:
        patient, doctor = await care_pair(http_session, web_a, make_patient, make_doctor, "Stalled Patient")
        patient_socket = await connect(patient.access_token, url=web_a.url)
        doctor_socket = await connect(doctor.access_token, url=stalled.url)
        await patient_socket.wait_for("presence", lambda e: e == {"user_id": doctor.id, "status": "online"})

        os.kill(stalled.process.pid, signal.SIGSTOP)
        try:
            await patient_socket.wait_for("presence", lambda e: e == {"user_id": doctor.id, "status": "offline"}, timeout=60)
        finally:
            os.kill(stalled.process.pid, signal.SIGCONT)
        back_online = {"user_id": doctor.id, "status": "online"}
        announced = patient_socket.received("presence").count(back_online)
        await wait_until(lambda: patient_socket.received("presence").count(back_online) > announced, 60, what="the doctor online again")
        assert doctor_socket.sio.connected
        listing = await Api(http_session, web_a.url).get("/api/conversations", token=patient.access_token)
        assert listing.body["conversations"][0]["other_party"]["online"] is True
    finally:
        stalled.kill()
