"""Chat over Socket.IO (websocket and polling): send, delivery, idempotency, catch-up, typing,
read receipts, presence, validation, access and the rate limit."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import pytest
from bson import ObjectId

from engage import extensions
from engage.actions.typing import TYPING_KEY
from engage.lib.conversations import stored_message
from engage.models.conversation import ConversationActivity
from schemas.chat import (
    MessageOut,
    PresenceEvent,
    ReadAck,
    ReadEvent,
    SendAck,
    SyncAck,
    TypingEvent,
)
from tests.chat_factories import (
    error_code,
    messages_for,
    open_pair,
    send,
    stored_messages,
    valid,
)
from tests.servers import start_engage
from tests.waiting import wait_until

TRANSPORTS = ["websocket", "polling"]


async def typing_expiry(conversation_id: str, typer_id: str, other_id: str) -> float:
    """When the server will end this typer's indicator unless refreshed (its own record)."""
    score = await extensions.redis_client().zscore(TYPING_KEY, f"{conversation_id}|{typer_id}|{other_id}")
    assert score is not None, "not recorded as typing"
    return score


async def stored_seqs(conversation_id: str) -> list[int]:
    return [m["seq"] for m in await stored_messages(conversation_id)]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_send_is_stored_acked_and_delivered_to_every_socket_of_both(api, connect, make_patient, make_doctor, db, transport):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    phone = await connect(pair.patient.access_token, transport)
    laptop = await connect(pair.patient.access_token, transport)
    doctor = await connect(pair.doctor.access_token, transport)
    message = await send(phone, pair.id, "  I feel dizzy  ", cid="c-1")
    assert message["seq"] == 1 and message["body"] == "I feel dizzy"
    assert message["sender_id"] == pair.patient.id and message["client_id"] == "c-1" and message["conversation_id"] == pair.id
    # Stored before the ack.
    stored = await stored_message(message["id"])
    assert stored is not None and stored["seq"] == 1 and stored["body"] == "I feel dizzy"
    assert [(m["seq"], m["_id"], m["body"]) for m in await stored_messages(pair.id)] == [(1, message["id"], "I feel dizzy")]
    for client in (phone, laptop, doctor):
        assert valid(MessageOut, await client.wait_for("chat:message")) == message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_resend_with_same_client_id_returns_original_and_delivers_nothing(api, connect, make_patient, make_doctor, db, transport):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, transport)
    doctor = await connect(pair.doctor.access_token, transport)
    original = await send(patient, pair.id, "first", cid="retry-me")
    again = await send(patient, pair.id, "first (edited?)", cid="retry-me")
    assert again == original
    later = await send(patient, pair.id, "second")
    await doctor.wait_for("chat:message", lambda m: m["id"] == later["id"])
    assert [m["seq"] for m in messages_for(doctor, pair.id)] == [1, 2]
    assert await stored_seqs(pair.id) == [1, 2]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_fifty_concurrent_senders_get_seqs_without_gap_or_duplicate(api, connect, make_patient, make_doctor, db, web, web2, transport):
    """25 patient and 25 doctor sockets over two web processes, each sending twice at once."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    clients = []
    for n in range(50):
        account = pair.patient if n % 2 else pair.doctor
        clients.append(await connect(account.access_token, transport, url=(web if n % 4 < 2 else web2).url))
    per_client = 2
    total = 50 * per_client

    async def burst(client):
        return await asyncio.gather(*[send(client, pair.id, f"m{i}") for i in range(per_client)])

    acks = [m for batch in await asyncio.gather(*[burst(c) for c in clients]) for m in batch]
    assert sorted(m["seq"] for m in acks) == list(range(1, total + 1))
    assert await stored_seqs(pair.id) == list(range(1, total + 1))
    # Every socket of both participants sees every message exactly once.
    for client in (clients[0], clients[1], clients[-1]):
        await client.wait_for("chat:message", lambda m: len(messages_for(client, pair.id)) >= total)
        assert sorted(m["seq"] for m in messages_for(client, pair.id)) == list(range(1, total + 1))
    listing = (await api.get(f"/api/conversations/{pair.id}", token=pair.patient.access_token)).body["conversation"]
    assert listing["last_seq"] == total and listing["last_message"]["seq"] == total
    # Sending marks everything before it read, whichever process stored the newer messages.
    for account in (pair.patient, pair.doctor):
        own_last = max(m["seq"] for m in acks if m["sender_id"] == account.id)
        view = (await api.get(f"/api/conversations/{pair.id}", token=account.access_token)).body["conversation"]
        assert view["unread_count"] == total - own_last


async def test_polling_client_flushing_a_burst_in_one_request_stays_connected(api, connect, make_patient, make_doctor, db):
    """A polling client sends what it queued meanwhile in one POST, as a browser does after a stall.

    python-engineio refuses a POST of more than 16 packets unless told otherwise; that would
    drop the client and its whole burst.
    """
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, "polling")
    doctor = await connect(pair.doctor.access_token, "polling")
    total = 60
    acks = await asyncio.gather(*[send(patient, pair.id, f"queued {n}") for n in range(total)])
    assert sorted(m["seq"] for m in acks) == list(range(1, total + 1))
    await doctor.wait_for("chat:message", lambda m: len(messages_for(doctor, pair.id)) >= total)
    assert [m["seq"] for m in messages_for(doctor, pair.id)] == list(range(1, total + 1))
    assert patient.sio.connected and patient.sio.transport() == "polling"
    assert await stored_seqs(pair.id) == list(range(1, total + 1))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_reconnect_catches_up_with_exactly_what_was_missed(api, connect, make_patient, make_doctor, db, web, transport):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, transport)
    doctor = await connect(pair.doctor.access_token, transport)
    await send(patient, pair.id, "before")
    seen = await doctor.wait_for("chat:message")
    await doctor.sio.eio.disconnect(abort=True)  # the phone drops its socket
    missed = [await send(patient, pair.id, f"while away {n}") for n in range(5)]
    back = await connect(pair.doctor.access_token, transport)
    ack = await back.call("chat:sync", {"conversation_id": pair.id, "after_seq": seen["seq"]})
    valid(SyncAck, ack)
    assert ack["messages"] == missed
    # Paging with limit gives the same messages in order, none twice.
    first = await back.call("chat:sync", {"conversation_id": pair.id, "after_seq": seen["seq"], "limit": 3})
    rest = await back.call("chat:sync", {"conversation_id": pair.id, "after_seq": first["messages"][-1]["seq"], "limit": 3})
    assert first["messages"] + rest["messages"] == missed
    assert (await back.call("chat:sync", {"conversation_id": pair.id, "after_seq": missed[-1]["seq"]}))["messages"] == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_typing_reaches_the_other_side_and_expires(api, connect, make_patient, make_doctor, db, transport):
    """ENGAGE_TYPING_TTL is 2 s in the test environment."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, transport)
    doctor = await connect(pair.doctor.access_token, transport)
    assert await patient.call("chat:typing", {"conversation_id": pair.id, "typing": True}) == {"ok": True}
    expires_at = await typing_expiry(pair.id, pair.patient.id, pair.doctor.id)
    on = await doctor.wait_for("chat:typing")
    assert valid(TypingEvent, on) == {"conversation_id": pair.id, "user_id": pair.patient.id, "typing": True}
    off = await doctor.wait_for("chat:typing", lambda e: e["typing"] is False, timeout=10)
    assert valid(TypingEvent, off) == {"conversation_id": pair.id, "user_id": pair.patient.id, "typing": False}
    assert time.time() >= expires_at  # it ended by expiring, not earlier
    assert patient.received("chat:typing") == []  # the typer is not told about itself


async def test_typing_refresh_keeps_it_alive_and_false_stops_it(api, connect, make_patient, make_doctor, db):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token)
    doctor = await connect(pair.doctor.access_token)
    for _ in range(4):  # a person typing: a refresh every 0.4 s for 1.6 s, then stopped explicitly
        await patient.call("chat:typing", {"conversation_id": pair.id, "typing": True})
        await asyncio.sleep(0.4)
    expires_at = await typing_expiry(pair.id, pair.patient.id, pair.doctor.id)
    await patient.call("chat:typing", {"conversation_id": pair.id, "typing": False})
    await doctor.wait_for("chat:typing", lambda e: e["typing"] is False)
    assert time.time() < expires_at  # the explicit stop, not the expiry
    # "typing" is announced at most once a second: the refreshes at 0.4 and 0.8 s are not.
    assert [e["typing"] for e in doctor.received("chat:typing")] == [True, True, False]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_disconnect_stops_typing(api, connect, make_patient, make_doctor, db, transport):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, transport)
    doctor = await connect(pair.doctor.access_token, "websocket")
    await patient.call("chat:typing", {"conversation_id": pair.id, "typing": True})
    await doctor.wait_for("chat:typing")
    expires_at = await typing_expiry(pair.id, pair.patient.id, pair.doctor.id)
    if transport == "polling":
        # A clean close (an aborted poll is only noticed at the ping timeout); the client
        # itself then lingers on its last long-poll, so do not wait for it.
        closing = asyncio.create_task(patient.sio.disconnect())
    else:
        await patient.close()
    off = await doctor.wait_for("chat:typing", lambda e: e["typing"] is False)
    assert off["user_id"] == pair.patient.id
    assert time.time() < expires_at  # the disconnect stopped it, not the expiry
    await wait_until(lambda: time.time() > expires_at + 0.5, what="past the original expiry")
    assert [e["typing"] for e in doctor.received("chat:typing")] == [True, False]
    if transport == "polling":
        await closing


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_read_receipts_and_unread_counts(api, connect, make_patient, make_doctor, transport):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, transport)
    doctor = await connect(pair.doctor.access_token, transport)
    for n in range(3):
        await send(patient, pair.id, f"m{n}")
    await doctor.wait_for("chat:message", lambda m: m["seq"] == 3)

    async def unread(account) -> int:
        return (await api.get(f"/api/conversations/{pair.id}", token=account.access_token)).body["conversation"]["unread_count"]

    assert (await unread(pair.doctor), await unread(pair.patient)) == (3, 0)
    ack = await doctor.call("chat:read", {"conversation_id": pair.id, "seq": 2})
    assert valid(ReadAck, ack) == {"ok": True, "seq": 2}
    receipt = await patient.wait_for("chat:read")
    assert valid(ReadEvent, receipt) == {"conversation_id": pair.id, "user_id": pair.doctor.id, "seq": 2}
    assert await unread(pair.doctor) == 1
    await doctor.call("chat:read", {"conversation_id": pair.id, "seq": 3})
    await patient.wait_for("chat:read", lambda e: e["seq"] == 3)
    assert await unread(pair.doctor) == 0
    # The doctor replying counts as having read; the patient now has one unread.
    await send(doctor, pair.id, "reply")
    assert (await unread(pair.doctor), await unread(pair.patient)) == (0, 1)


async def test_a_read_past_the_newest_message_stops_at_it_even_when_the_activity_trails(api, connect, make_patient, make_doctor, db):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, "websocket")
    doctor = await connect(pair.doctor.access_token, "polling")
    for n in range(3):
        await send(patient, pair.id, f"m{n}")
    assert valid(ReadAck, await doctor.call("chat:read", {"conversation_id": pair.id, "seq": 2})) == {"ok": True, "seq": 2}
    # As after a crash between a commit and its activity update: the activity trails the messages.
    await ConversationActivity.get_pymongo_collection().update_one({"_id": ObjectId(pair.id)}, {"$set": {"last_seq": 1}})
    assert await doctor.call("chat:read", {"conversation_id": pair.id, "seq": 99}) == {"ok": True, "seq": 3}
    assert await doctor.call("chat:read", {"conversation_id": pair.id, "seq": 1}) == {"ok": True, "seq": 3}  # never backwards


async def test_presence_with_two_devices(api, connect, make_patient, make_doctor):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    doctor = await connect(pair.doctor.access_token)

    async def barrier() -> None:
        # Events from one process reach a socket in order: once this message is in, so is presence.
        message = await send(doctor, pair.id, "barrier")
        await doctor.wait_for("chat:message", lambda m: m["id"] == message["id"])

    phone = await connect(pair.patient.access_token, "websocket")
    online = await doctor.wait_for("presence")
    assert valid(PresenceEvent, online) == {"user_id": pair.patient.id, "status": "online"}
    laptop = await connect(pair.patient.access_token, "polling")
    listing = (await api.get("/api/conversations", token=pair.doctor.access_token)).body["conversations"]
    assert listing[0]["other_party"]["online"] is True
    await phone.close()
    await barrier()
    assert doctor.received("presence") == [online]  # still online through the laptop
    await laptop.close()
    offline = await doctor.wait_for("presence", lambda e: e["status"] == "offline")
    assert valid(PresenceEvent, offline) == {"user_id": pair.patient.id, "status": "offline"}
    listing = (await api.get("/api/conversations", token=pair.doctor.access_token)).body["conversations"]
    assert listing[0]["other_party"]["online"] is False


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_third_user_is_refused_on_every_event_and_sees_nothing(api, connect, make_patient, make_doctor, transport):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, transport)
    for intruder_account in (await make_patient(), await make_doctor()):
        intruder = await connect(intruder_account.access_token, transport)
        for event, data in [
            ("chat:send", {"conversation_id": pair.id, "client_id": "x", "body": "hi"}),
            ("chat:typing", {"conversation_id": pair.id, "typing": True}),
            ("chat:read", {"conversation_id": pair.id, "seq": 0}),
            ("chat:sync", {"conversation_id": pair.id, "after_seq": 0}),
        ]:
            assert error_code(await intruder.call(event, data)) == "not_found", event
        await patient.call("chat:typing", {"conversation_id": pair.id, "typing": True})
        message = await send(patient, pair.id, "private")
        await patient.wait_for("chat:message", lambda m: m["id"] == message["id"])
        # The intruder's own process delivered the patient's events to the patient already.
        await intruder.call("chat:sync", {"conversation_id": pair.id, "after_seq": 0})
        assert [name for name, _ in intruder.events] == []


@pytest.mark.parametrize(
    ("event", "data", "field"),
    [
        ("chat:send", {"conversation_id": "CID", "client_id": "a", "body": ""}, "body"),
        ("chat:send", {"conversation_id": "CID", "client_id": "a", "body": "   "}, "body"),
        ("chat:send", {"conversation_id": "CID", "client_id": "a", "body": "x" * 4001}, "body"),
        ("chat:send", {"conversation_id": "CID", "client_id": "a", "body": None}, "body"),
        ("chat:send", {"conversation_id": "CID", "body": "hi"}, "client_id"),
        ("chat:send", {"conversation_id": "CID", "client_id": "", "body": "hi"}, "client_id"),
        ("chat:send", {"conversation_id": "CID", "client_id": "x" * 65, "body": "hi"}, "client_id"),
        ("chat:send", {"conversation_id": "nope", "client_id": "a", "body": "hi"}, "conversation_id"),
        ("chat:send", "just a string", "body"),
        ("chat:typing", {"conversation_id": "CID", "typing": "yes"}, "typing"),
        ("chat:read", {"conversation_id": "CID", "seq": -1}, "seq"),
        ("chat:read", {"conversation_id": "CID", "seq": "3"}, "seq"),
        ("chat:sync", {"conversation_id": "CID", "after_seq": 0, "limit": 501}, "limit"),
        ("chat:sync", {"conversation_id": "CID"}, "after_seq"),
    ],
)
async def test_invalid_payloads_get_validation_errors(api, connect, make_patient, make_doctor, db, event, data, field):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token)
    if isinstance(data, dict):
        data = {k: pair.id if v == "CID" else v for k, v in data.items()}
    ack = await patient.call(event, data)
    assert error_code(ack) == "validation_error"
    assert ack["error"]["field"] == field
    assert await stored_seqs(pair.id) == []


async def test_unknown_conversation_is_not_found(connect, make_patient):
    patient = await connect((await make_patient()).access_token)
    ack = await patient.call("chat:send", {"conversation_id": "0" * 24, "client_id": "a", "body": "hi"})
    assert error_code(ack) == "not_found"


@pytest.fixture(scope="module")
def default_limits_web(engage_environment, tmp_root):
    """A web process with the shipped chat settings (the suite's environment raises the rate limit)."""
    env = {k: v for k, v in engage_environment.items() if k != "ENGAGE_CHAT_RATE_LIMIT"}
    proc = start_engage("web", env, tmp_root)
    yield proc
    proc.stop()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_rate_limit_is_20_per_10_seconds_by_default(api, connect, make_patient, make_doctor, db, default_limits_web, transport):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, transport, url=default_limits_web.url)
    sent = [await send(patient, pair.id, f"m{n}", cid=f"c{n}") for n in range(20)]
    limited = await patient.call("chat:send", {"conversation_id": pair.id, "client_id": "c20", "body": "one too many"})
    assert error_code(limited) == "rate_limited"
    assert "20" in limited["error"]["message"]
    # A retry of an already stored message is still answered with the original.
    assert await send(patient, pair.id, "m3", cid="c3") == sent[3]
    # The limit is per user: the doctor can still answer.
    doctor = await connect(pair.doctor.access_token, transport, url=default_limits_web.url)
    await send(doctor, pair.id, "answer")
    assert await stored_seqs(pair.id) == list(range(1, 22))
    rest = await api.post(f"/api/conversations/{pair.id}/messages", {"client_id": "rest", "body": "x"}, token=pair.patient.access_token)
    assert rest.status == 200 or rest.status == 201  # the suite's own web process has a high limit
    from tests.clients import Api

    limited_api = Api(api.session, default_limits_web.url)
    resp = await limited_api.post(f"/api/conversations/{pair.id}/messages", {"client_id": "rest2", "body": "x"}, token=pair.patient.access_token)
    assert resp.status == 429 and resp.error_code == "rate_limited"
    assert resp.headers["Retry-After"] == "10" and resp.body["retry_after"] == 10


async def test_sending_marks_read_even_when_another_process_stored_newer_first(api, connect, make_patient, make_doctor, db):
    """The conversation already shows a newer message (another process won the race to update it):
    the last-message copy stays, and the sender's read position still moves to what they sent."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, "websocket")
    first = await send(patient, pair.id, "first")
    newer = {"id": "from-another-process", "seq": first["seq"] + 5, "sender_id": pair.doctor.id, "client_id": "x", "body": "newer",
             "created_at": datetime.now(timezone.utc)}
    activity = ConversationActivity.get_pymongo_collection()
    await activity.update_one({"_id": ObjectId(pair.id)}, {"$set": {"last_seq": newer["seq"], "last_message": newer}})
    second = await send(patient, pair.id, "second")
    stored = await activity.find_one({"_id": ObjectId(pair.id)})
    assert stored["last_seq"] == newer["seq"] and stored["last_message"]["id"] == "from-another-process"
    assert stored["read_seqs"][pair.patient.id] == second["seq"]


@pytest.fixture(scope="module")
def impatient_web(engage_environment, tmp_root):
    """A web process that calls itself overloaded once a message has waited 1 ms for storage."""
    proc = start_engage("web", {**engage_environment, "ENGAGE_CHAT_MAX_QUEUE_SECONDS": "0.001"}, tmp_root)
    yield proc
    proc.stop()


async def test_an_overloaded_process_refuses_sends_quickly_and_a_retry_stores_them_once(api, connect, make_patient, make_doctor, db, impatient_web):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, "websocket", url=impatient_web.url)
    doctor = await connect(pair.doctor.access_token, "websocket", url=impatient_web.url)
    stored: dict[str, dict] = {}
    refused: dict[str, str] = {}
    # Bursts until the queue is seen waiting (it is whenever a burst lands during a commit).
    for wave in range(30):
        payloads = [{"conversation_id": pair.id, "client_id": f"w{wave}-{n}", "body": f"wave {wave} #{n}"} for n in range(40)]
        acks = await asyncio.gather(*[patient.call("chat:send", p) for p in payloads])
        for payload, ack in zip(payloads, acks, strict=True):
            if ack["ok"]:
                stored[payload["client_id"]] = valid(SendAck, ack)["message"]
            else:
                assert error_code(ack) == "server_busy" and ack["retry_after"] == 1
                refused[payload["client_id"]] = payload["body"]
        if refused:
            break
    assert refused, "no send was refused"
    # Nothing refused was stored or delivered; everything acked was.
    assert await stored_seqs(pair.id) == list(range(1, len(stored) + 1))
    await doctor.wait_for("chat:message", lambda m: len(messages_for(doctor, pair.id)) >= len(stored))
    assert {m["client_id"] for m in messages_for(doctor, pair.id)} == set(stored)
    # The client's retry with the same client_id stores each refused message once.
    for cid, body in refused.items():
        for _attempt in range(50):
            ack = await patient.call("chat:send", {"conversation_id": pair.id, "client_id": cid, "body": body})
            if ack["ok"]:
                stored[cid] = ack["message"]
                break
        else:
            raise AssertionError(f"{cid} stayed refused")
    assert await stored_seqs(pair.id) == list(range(1, len(stored) + 1))
    total = len(stored)
    await doctor.wait_for("chat:message", lambda m: len(messages_for(doctor, pair.id)) >= total)
    assert sorted(m["seq"] for m in messages_for(doctor, pair.id)) == list(range(1, total + 1))
