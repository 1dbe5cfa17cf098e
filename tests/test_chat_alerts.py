"""Missed-message alerts: one per conversation per window, none when read in time, no message text."""

from __future__ import annotations


import pytest
from beanie import PydanticObjectId
from rq.job import Job

from engage import extensions
from engage.models.notification import Notification, NotificationPreferences
from tests.chat_factories import open_pair, send
from tests.servers import start_engage
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def alert_web(engage_environment, tmp_root):
    """A web process whose alert window is 1 s instead of 5 minutes."""
    proc = start_engage("web", {**engage_environment, "ENGAGE_UNREAD_ALERT_SECONDS": "1"}, tmp_root)
    yield proc
    proc.stop()


def alert_jobs(settings, conversation_id: str) -> list[Job]:
    connection = extensions.sync_redis(settings)
    keys = connection.keys(f"rq:job:chat-missed-{conversation_id}-*")
    return [Job.fetch(key.decode().removeprefix("rq:job:"), connection=connection) for key in keys]


async def test_unread_messages_get_one_alert_without_their_text(api, connect, make_patient, make_doctor, db, settings, worker, alert_web):
    patient = await make_patient(phone="+14155550142")
    await NotificationPreferences(user_id=PydanticObjectId(patient.id), channels={"reminders": ["email"], "messages": ["email", "sms"], "alerts": ["email"]}).insert()
    pair = await open_pair(api, patient, await make_doctor())
    doctor = await connect(pair.doctor.access_token, url=alert_web.url)
    for text in ("your blood results are in", "please call me", "it is about the biopsy"):
        await send(doctor, pair.id, text)

    key = f"missed_messages:{pair.id}:{patient.id}:1"
    notes = await wait_until(lambda: _notifications(key, 2))
    assert sorted(n.channel for n in notes) == ["email", "sms"]
    for note in notes:
        assert note.kind == "missed_messages"
        assert note.context == {"count": 3, "sender_name": pair.doctor.name, "conversation_id": pair.id}
        assert "biopsy" not in str(note.model_dump())
    # One delayed job for the three messages, and nothing for the sender.
    jobs = alert_jobs(settings, pair.id)
    assert [job.id for job in jobs] == [f"chat-missed-{pair.id}-{patient.id}-1"]
    assert await Notification.find({"idempotency_key": {"$regex": f"^missed_messages:{pair.id}:"}}).count() == 2


async def test_no_alert_when_read_in_time(api, connect, make_patient, make_doctor, db, settings, worker, alert_web):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    doctor = await connect(pair.doctor.access_token, url=alert_web.url)
    patient = await connect(pair.patient.access_token, url=alert_web.url)
    message = await send(doctor, pair.id, "are you feeling better?")
    await patient.call("chat:read", {"conversation_id": pair.id, "seq": message["seq"]})

    async def finished():
        jobs = alert_jobs(settings, pair.id)
        return jobs if jobs and all(job.get_status(refresh=True) == "finished" for job in jobs) else None

    jobs = await wait_until(finished)
    assert [job.return_value() for job in jobs] == [False]
    assert await Notification.find({"idempotency_key": {"$regex": f"^missed_messages:{pair.id}:"}}).count() == 0


async def _notifications(key: str, count: int):
    found = await Notification.find({"idempotency_key": key}).to_list()
    return found if len(found) >= count else None
