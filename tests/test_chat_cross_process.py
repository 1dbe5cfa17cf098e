"""Two real web processes: a patient on one, the doctor on the other, events cross through Redis."""

from __future__ import annotations

import asyncio

import pytest

from schemas.chat import MessageOut, PresenceEvent, ReadEvent, TypingEvent
from tests.chat_factories import messages_for, open_pair, send, valid


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_message_typing_read_and_presence_cross_processes(api, connect, make_patient, make_doctor, web, web2, transport):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    doctor = await connect(pair.doctor.access_token, transport, url=web2.url)
    patient = await connect(pair.patient.access_token, transport, url=web.url)
    assert valid(PresenceEvent, await doctor.wait_for("presence")) == {"user_id": pair.patient.id, "status": "online"}

    sent = await send(patient, pair.id, "from process one")
    assert valid(MessageOut, await doctor.wait_for("chat:message")) == sent
    reply = await send(doctor, pair.id, "from process two")
    assert await patient.wait_for("chat:message", lambda m: m["id"] == reply["id"]) == reply
    assert reply["seq"] == sent["seq"] + 1

    await patient.call("chat:typing", {"conversation_id": pair.id, "typing": True})
    typing = await doctor.wait_for("chat:typing")
    assert valid(TypingEvent, typing) == {"conversation_id": pair.id, "user_id": pair.patient.id, "typing": True}
    # Expiry is announced by whichever process sweeps first, exactly once.
    await doctor.wait_for("chat:typing", lambda e: e["typing"] is False, timeout=6)

    third = await send(patient, pair.id, "one more")
    await doctor.call("chat:read", {"conversation_id": pair.id, "seq": third["seq"]})
    receipt = await patient.wait_for("chat:read")
    assert valid(ReadEvent, receipt) == {"conversation_id": pair.id, "user_id": pair.doctor.id, "seq": 3}

    await patient.sio.disconnect() if transport == "websocket" else await patient.close()
    offline = await doctor.wait_for("presence", lambda e: e["status"] == "offline", timeout=8)
    assert offline == {"user_id": pair.patient.id, "status": "offline"}
    assert [e["typing"] for e in doctor.received("chat:typing")] == [True, False]
    assert [e["status"] for e in doctor.received("presence")] == ["online", "offline"]


async def test_a_burst_from_one_process_arrives_in_seq_order_on_both(api, connect, make_patient, make_doctor, web, web2):
    """Messages stored by one process reach every socket in seq order, locally and through Redis.

    Both senders are on the first process, so one writer stores the whole burst; the doctor
    watches from both processes.
    """
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, "websocket", url=web.url)
    doctor_here = await connect(pair.doctor.access_token, "websocket", url=web.url)
    doctor_there = await connect(pair.doctor.access_token, "websocket", url=web2.url)
    total = 120
    acks = await asyncio.gather(*[send(patient if n % 2 else doctor_here, pair.id, f"burst {n}") for n in range(total)])
    assert sorted(m["seq"] for m in acks) == list(range(1, total + 1))
    by_seq = {m["seq"]: m for m in acks}
    for client in (patient, doctor_here, doctor_there):
        await client.wait_for("chat:message", lambda m, c=client: len(messages_for(c, pair.id)) >= total)
        arrived = messages_for(client, pair.id)
        assert [m["seq"] for m in arrived] == list(range(1, total + 1))
        assert all(m == by_seq[m["seq"]] for m in arrived)
