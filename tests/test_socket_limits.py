"""Socket events a client may not abuse: reserved names are ignored, every event has a per-user
limit across processes, typing is announced at most once a second, watching is audited once."""

from __future__ import annotations

import asyncio

import pytest
from bson import ObjectId

from engage import extensions
from engage.actions.rate_limits import socket_event_limit
from engage.lib.presence import PRESENCE_KEY
from engage.models.audit import AuditEvent
from tests.chat_factories import open_pair
from tests.chat_factories import send
from tests.vitals_helpers import vital
from tests.waiting import wait_until

NO_CONVERSATION = {"conversation_id": "0" * 24, "after_seq": 0}


def code(ack: dict) -> str | None:
    return ack.get("error", {}).get("code") if isinstance(ack, dict) else None


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_client_cannot_fire_connect_to_become_someone_else(api, connect, make_patient, make_doctor, transport):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    intruder_account = await make_patient()
    intruder = await connect(intruder_account.access_token, transport)
    # The ack comes once the server is done with the packet (a handler would have run by then).
    ack = await intruder.sio.call("connect", ({}, {"token": pair.patient.access_token}), timeout=10)
    assert code(ack) == "reserved_event"
    sync = await intruder.call("chat:sync", {"conversation_id": pair.id, "after_seq": 0})
    assert code(sync) == "not_found"


async def test_a_client_cannot_fire_disconnect_to_look_offline(api, connect, make_patient, make_doctor, db):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token)
    await connect(pair.doctor.access_token)
    assert await extensions.redis_client().scard(PRESENCE_KEY.format(pair.patient.id)) == 1
    assert code(await patient.sio.call("disconnect", timeout=10)) == "reserved_event"
    assert await extensions.redis_client().scard(PRESENCE_KEY.format(pair.patient.id)) == 1
    listing = await api.get("/api/conversations", token=pair.doctor.access_token)
    assert listing.body["conversations"][0]["other_party"]["online"] is True
    assert patient.sio.connected
    await send(patient, pair.id, "still here")


async def test_reserved_names_are_logged_once_per_socket(connect, make_patient, web):
    patient = await make_patient()
    client = await connect(patient.access_token)
    sid = client.sio.get_sid()
    for name in ("connect", "disconnect", "connect_error", "connect"):
        assert code(await client.sio.call(name, {}, timeout=10)) == "reserved_event"

    async def logged() -> list[str]:
        return [line for line in web.log_tail(2000).splitlines() if sid in line and "reserved" in line]

    assert len(await wait_until(logged, 5)) == 1


async def test_a_typing_burst_reaches_the_other_side_as_one_or_two_events(api, connect, make_patient, make_doctor):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token)
    doctor = await connect(pair.doctor.access_token)
    acks = await asyncio.gather(*[patient.call("chat:typing", {"conversation_id": pair.id, "typing": True}) for _ in range(500)])
    assert {code(a) for a in acks} <= {None, "rate_limited"}
    # Every announcement the burst made was published before its ack; this message comes after them.
    message = await send(patient, pair.id, "after the burst")
    await doctor.wait_for("chat:message", lambda m: m["id"] == message["id"])
    assert 1 <= len(doctor.received("chat:typing")) <= 2, doctor.received("chat:typing")


async def test_a_stop_right_after_a_start_is_announced(api, connect, make_patient, make_doctor):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token)
    doctor = await connect(pair.doctor.access_token)
    for typing in (True, False, True, False, True, False):
        await patient.call("chat:typing", {"conversation_id": pair.id, "typing": typing})
    await doctor.wait_for("chat:typing", lambda e: e["typing"] is False)
    message = await send(patient, pair.id, "done")
    await doctor.wait_for("chat:message", lambda m: m["id"] == message["id"])
    assert [e["typing"] for e in doctor.received("chat:typing")] == [True, False]


async def test_watching_a_patient_a_thousand_times_is_audited_once(api, connect, make_patient, make_doctor, db):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    doctor = await connect(pair.doctor.access_token)
    acks = await asyncio.gather(*[doctor.call("vitals:watch", {"patient_id": pair.patient.id}) for _ in range(1000)])
    assert any(a["ok"] for a in acks)
    assert {code(a) for a in acks if not a["ok"]} <= {"rate_limited"}
    audits = await AuditEvent.find({"actor_id": ObjectId(pair.doctor.id), "subject_id": ObjectId(pair.patient.id), "action": "vitals.watch"}).count()
    assert audits == 1


async def test_vitals_submit_is_rate_limited(connect, make_patient):
    patient = await make_patient()
    client = await connect(patient.access_token)
    limit, window = socket_event_limit("vitals:submit")
    acks = await asyncio.gather(*[client.call("vitals:submit", vital("heart_rate", 60 + n % 40)) for n in range(limit + 5)])
    limited = [a for a in acks if code(a) == "rate_limited"]
    assert len(limited) == 5, acks
    assert limited[0]["error"]["retry_after"] > 0
    assert sum(1 for a in acks if a["ok"]) == limit


async def test_event_limits_hold_across_processes(connect, make_patient, web, web2):
    """One user's sockets on two web processes share one budget per event."""
    patient = await make_patient()
    here = await connect(patient.access_token, url=web.url)
    there = await connect(patient.access_token, url=web2.url)
    limit, _ = socket_event_limit("chat:sync")
    calls = [(here if n % 2 else there).call("chat:sync", NO_CONVERSATION) for n in range(limit + 6)]
    acks = await asyncio.gather(*calls)
    assert [code(a) for a in acks].count("rate_limited") == 6
    assert [code(a) for a in acks].count("not_found") == limit



async def test_an_event_without_a_name_is_one_log_line(connect, make_patient, web):
    patient = await make_patient()
    client = await connect(patient.access_token)
    await client.sio.emit({"not": "a name"}, {"x": 1})  # python-socketio would fail on it with a traceback
    assert code(await client.call("chat:sync", NO_CONVERSATION)) == "not_found"

    async def logged() -> list[str]:
        return [line for line in web.log_tail(2000).splitlines() if "an event without a name: [{'not': 'a name'}" in line]

    assert len(await wait_until(logged, 5)) == 1
    assert "Traceback" not in web.log_tail(2000).split("an event without a name: [{'not'")[-1]
