"""How chat messages are stored: one document per message, one transaction per group commit."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from bson import ObjectId

from engage.lib.message_layout import ACTIVITY_MIGRATION_ID, move_conversation_activity
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.message import Message
from engage.models.message import message_key
from tests.chat_factories import client_id, messages_for, open_pair, send, stored_messages


async def test_the_same_client_id_sent_to_two_processes_at_once_is_stored_once(api, connect, make_patient, make_doctor, db, web, web2):
    """A phone resending over a new connection to another process while the first send is in flight."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    here = await connect(pair.patient.access_token, "websocket", url=web.url)
    there = await connect(pair.patient.access_token, "websocket", url=web2.url)
    doctor = await connect(pair.doctor.access_token, "websocket", url=web.url)
    cids = [client_id() for _ in range(20)]
    acks = await asyncio.gather(*[send(client, pair.id, f"m {cid}", cid=cid) for cid in cids for client in (here, there)])
    for n in range(len(cids)):
        assert acks[2 * n] == acks[2 * n + 1]  # both processes answer with the one stored message
    assert sorted(m["seq"] for m in acks[::2]) == list(range(1, len(cids) + 1))
    stored = await stored_messages(pair.id)
    assert [d["seq"] for d in stored] == list(range(1, len(cids) + 1))
    assert sorted(d["client_id"] for d in stored) == sorted(cids)
    assert [d["_id"] for d in stored] == [m["id"] for m in sorted(acks[::2], key=lambda m: m["seq"])]
    # Delivered once each: a resend that lost the race delivers nothing.
    await doctor.wait_for("chat:message", lambda m: len(messages_for(doctor, pair.id)) >= len(cids))
    later = await send(here, pair.id, "after the race")
    await doctor.wait_for("chat:message", lambda m: m["id"] == later["id"])
    assert sorted(m["seq"] for m in messages_for(doctor, pair.id)) == list(range(1, len(cids) + 2))


async def test_a_writer_that_knows_an_older_seq_finds_the_newer_messages_and_leaves_no_gap(api, connect, make_patient, make_doctor, db, web, web2):
    """Two processes take turns in one conversation: each learns the other's seqs from the
    deliveries it relays (or, when one is late, from colliding with the other's message)."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    here = await connect(pair.patient.access_token, "websocket", url=web.url)
    there = await connect(pair.doctor.access_token, "polling", url=web2.url)
    total = 70
    acks = [await send((here, there)[n % 2], pair.id, f"turn {n}") for n in range(total)]
    assert [m["seq"] for m in acks] == list(range(1, total + 1))
    assert [(m["seq"], m["_id"]) for m in await stored_messages(pair.id)] == [(m["seq"], m["id"]) for m in acks]


async def test_a_message_stored_elsewhere_whose_delivery_never_came_is_found_by_the_collision(api, connect, make_patient, make_doctor, db, web):
    """The writer's memory of the newest seq is stale (another process stored seq 2 and its publish
    was lost): the next send collides on (conversation_id, seq), re-reads, and takes seq 3."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, "websocket", url=web.url)
    first = await send(patient, pair.id, "first")
    cid = client_id()
    elsewhere = {
        "_id": message_key(pair.id, pair.doctor.id, cid), "conversation_id": ObjectId(pair.id), "seq": 2,
        "sender_id": ObjectId(pair.doctor.id), "client_id": cid, "body": "stored by another process", "created_at": datetime.now(timezone.utc),
    }
    await Message.get_pymongo_collection().insert_one(elsewhere)
    third = await send(patient, pair.id, "third")
    assert (first["seq"], third["seq"]) == (1, 3)
    assert [(m["seq"], m["_id"]) for m in await stored_messages(pair.id)] == [(1, first["id"]), (2, elsewhere["_id"]), (3, third["id"])]


async def test_read_positions_and_newest_messages_kept_on_conversations_move_to_their_activity(api, make_patient, make_doctor, db):
    old_style, newer_elsewhere = [await open_pair(api, await make_patient(), await make_doctor()) for _ in range(2)]
    conversations, activity = Conversation.get_pymongo_collection(), ConversationActivity.get_pymongo_collection()
    sent_at = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
    for pair in (old_style, newer_elsewhere):
        # As an earlier version kept them: on the conversation document.
        last = {"id": "a" * 24, "seq": 7, "sender_id": pair.doctor.id, "client_id": "c7", "body": "see you", "created_at": sent_at}
        await conversations.update_one(
            {"_id": ObjectId(pair.id)},
            {"$set": {"last_seq": 7, "last_message": last, "last_message_at": sent_at, "read_seqs": {pair.patient.id: 5, pair.doctor.id: 7}}},
        )
    await activity.delete_one({"_id": ObjectId(old_style.id)})
    # This one already has newer activity (a message stored since, and a patient who read further).
    await activity.update_one(
        {"_id": ObjectId(newer_elsewhere.id)}, {"$set": {"last_seq": 9, "read_seqs": {newer_elsewhere.patient.id: 8}}}, upsert=True
    )
    await conversations.database["schema_migrations"].delete_one({"_id": ACTIVITY_MIGRATION_ID})

    assert await move_conversation_activity() >= 2
    assert await move_conversation_activity() == 0  # done once, remembered
    view = (await api.get(f"/api/conversations/{old_style.id}", token=old_style.patient.access_token)).body["conversation"]
    assert (view["last_seq"], view["read_seq"], view["other_read_seq"], view["unread_count"]) == (7, 5, 7, 2)
    assert view["last_message"]["body"] == "see you" and view["last_message"]["seq"] == 7
    kept = await activity.find_one({"_id": ObjectId(newer_elsewhere.id)})
    assert kept["last_seq"] == 9 and "last_message" not in kept
    assert kept["read_seqs"] == {newer_elsewhere.patient.id: 8, newer_elsewhere.doctor.id: 7}


async def test_a_read_receipt_before_any_message_does_not_stop_the_listing_from_following(api, connect, make_patient, make_doctor, db):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    doctor = await connect(pair.doctor.access_token, "websocket")
    assert (await doctor.call("chat:read", {"conversation_id": pair.id, "seq": 0}))["ok"] is True
    patient = await connect(pair.patient.access_token, "websocket")
    first = await send(patient, pair.id, "hello")
    view = (await api.get(f"/api/conversations/{pair.id}", token=pair.doctor.access_token)).body["conversation"]
    assert (view["last_seq"], view["unread_count"], view["last_message"]["id"]) == (1, 1, first["id"])


async def test_a_commit_whose_answer_is_lost_is_confirmed_and_its_message_delivered(api, connect, make_patient, make_doctor, db, settings):
    """The commit lands but its reply reports a write-concern timeout (real MongoDB under replication
    lag): the outcome is unknown, so the writer asks again instead of failing a stored batch."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, "websocket")
    doctor = await connect(pair.doctor.access_token, "polling")
    timeout = {"code": 64, "codeName": "WriteConcernFailed", "errmsg": "waiting for replication timed out", "errInfo": {"wtimeout": True}}
    await db.admin.command({
        "configureFailPoint": "failCommand", "mode": {"times": 1},
        "data": {"failCommands": ["commitTransaction"], "writeConcernError": timeout},
    })
    try:
        message = await send(patient, pair.id, "sent while the commit's answer was lost")
        # The failpoint fired on the writer's commit (it fires once): a commit of ours goes through.
        probe = db[settings.db_name]["failpoint_probe"]
        async with db.start_session() as session:
            async with await session.start_transaction():
                await probe.insert_one({"probe": True}, session=session)
    finally:
        await db.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
    assert message["seq"] == 1
    await doctor.wait_for("chat:message", lambda m: m["id"] == message["id"])
    assert [(d["seq"], d["_id"]) for d in await stored_messages(pair.id)] == [(1, message["id"])]
    # The writer goes on from there: the next message takes seq 2.
    assert (await send(patient, pair.id, "and the next one"))["seq"] == 2


async def test_messages_are_stored_one_document_each_under_both_unique_indexes(api, connect, make_patient, make_doctor, db):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    patient = await connect(pair.patient.access_token, "websocket")
    sent = [await send(patient, pair.id, f"m {n}") for n in range(3)]
    stored = await stored_messages(pair.id)
    assert [(d["_id"], d["seq"], d["body"]) for d in stored] == [(m["id"], m["seq"], m["body"]) for m in sent]
    unique = {name: tuple(key for key, _ in spec["key"]) for name, spec in (await Message.get_pymongo_collection().index_information()).items() if spec.get("unique")}
    assert sorted(unique.values()) == [("conversation_id", "sender_id", "client_id"), ("conversation_id", "seq")]
