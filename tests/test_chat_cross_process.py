"""Two real web processes: a patient on one, the doctor on the other, events cross through Redis."""

from __future__ import annotations

import pytest

from schemas.chat import MessageOut, PresenceEvent, ReadEvent, TypingEvent
from tests.chat_factories import open_pair, send, valid


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
