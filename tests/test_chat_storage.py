"""How chat messages are stored: one transaction per group commit, and messages of earlier versions moved."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from bson import ObjectId
from pymongo import ASCENDING

from engage.lib.message_layout import (
    ACTIVITY_MIGRATION_ID,
    LEGACY_MESSAGES,
    MIGRATION_ID,
    OLD_SEQ_INDEX,
    RUNS_MIGRATION_ID,
    move_conversation_activity,
    prepare_message_storage,
)
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.message import BLOCK_SEQS, MessageKey, MessageRun, message_address, message_key, run_id, runs_from_start
from tests.chat_factories import client_id, messages_for, open_pair, send, stored_messages
from tests.servers import start_engage


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
    assert await MessageKey.get_pymongo_collection().count_documents({"_id": {"$in": [d["key"] for d in stored]}}) == len(cids)
    # Delivered once each: a resend that lost the race delivers nothing.
    await doctor.wait_for("chat:message", lambda m: len(messages_for(doctor, pair.id)) >= len(cids))
    later = await send(here, pair.id, "after the race")
    await doctor.wait_for("chat:message", lambda m: m["id"] == later["id"])
    assert sorted(m["seq"] for m in messages_for(doctor, pair.id)) == list(range(1, len(cids) + 2))


def first_layout(pair, count: int) -> list[dict]:
    """Messages as the first layout stored them: _id = public id, found through a (conversation, seq) index."""
    sent_at = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
    senders = (pair.patient, pair.doctor)
    return [
        {
            "_id": message_key(pair.id, senders[seq % 2].id, f"old-{seq}"), "conversation_id": ObjectId(pair.id), "seq": seq,
            "sender_id": ObjectId(senders[seq % 2].id), "client_id": f"old-{seq}", "body": f"old message {seq}", "created_at": sent_at,
        }
        for seq in range(1, count + 1)
    ]


def seq_keyed(first: list[dict]) -> list[dict]:
    """The same messages as the second layout stored them: _id "<conversation>:<seq>", the public id in "key"."""
    return [{**d, "_id": message_address(str(d["conversation_id"]), d["seq"]), "key": d["_id"]} for d in first]


def as_stored(messages: list[dict]) -> list[tuple]:
    return [(d["seq"], d["key"] if "key" in d else d["_id"], str(d["sender_id"]), d["client_id"], d["body"]) for d in messages]


async def forget_moves(database) -> None:
    await database["schema_migrations"].delete_many({"_id": {"$in": [MIGRATION_ID, RUNS_MIGRATION_ID]}})


async def test_messages_of_the_first_layout_are_moved_at_start_and_still_served(api, connect, make_patient, make_doctor, db, engage_environment, tmp_root):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    legacy = MessageRun.get_pymongo_collection().database[LEGACY_MESSAGES]
    old = first_layout(pair, 3)
    await legacy.create_index([("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True, name=OLD_SEQ_INDEX)
    await legacy.insert_many(old)
    await forget_moves(legacy.database)

    upgraded = start_engage("web", engage_environment, tmp_root)
    try:
        assert OLD_SEQ_INDEX not in await legacy.index_information()
        assert as_stored(await stored_messages(pair.id)) == as_stored(old)
        assert await legacy.count_documents({"conversation_id": ObjectId(pair.id)}) == 0
        doctor = await connect(pair.doctor.access_token, "polling", url=upgraded.url)
        synced = await doctor.call("chat:sync", {"conversation_id": pair.id, "after_seq": 0})
        assert [(m["id"], m["seq"], m["body"], m["client_id"]) for m in synced["messages"]] == [
            (d["_id"], d["seq"], d["body"], d["client_id"]) for d in old
        ]
        # A resend of an old message still finds it; a new one continues the seqs.
        resender = await connect((pair.doctor if old[2]["sender_id"] == ObjectId(pair.doctor.id) else pair.patient).access_token, "websocket", url=upgraded.url)
        resent = await send(resender, pair.id, "old message 3", cid="old-3")
        assert (resent["id"], resent["seq"]) == (old[2]["_id"], 3)
        assert (await send(resender, pair.id, "new"))["seq"] == 4
    finally:
        upgraded.stop()


async def test_a_first_layout_move_cut_off_halfway_is_finished_without_loss_or_copies(api, make_patient, make_doctor, db):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    keys = MessageKey.get_pymongo_collection()
    legacy = keys.database[LEGACY_MESSAGES]
    old = first_layout(pair, 5)
    await legacy.insert_many(old)
    # The cut-off run had copied the first two (one with its key only) and deleted none.
    await keys.insert_many([{"_id": d["_id"], "message": message_address(pair.id, d["seq"])} for d in old[:2]])
    await legacy.insert_one(seq_keyed(old)[0])
    await forget_moves(legacy.database)

    assert await prepare_message_storage(batch=2) == len(old)
    assert await prepare_message_storage() == 0  # done once, remembered
    assert as_stored(await stored_messages(pair.id)) == as_stored(old)
    assert await legacy.count_documents({"conversation_id": ObjectId(pair.id)}) == 0
    moved_keys = {k["_id"]: k["message"] async for k in keys.find({"_id": {"$in": [d["_id"] for d in old]}})}
    assert moved_keys == {d["_id"]: message_address(pair.id, d["seq"]) for d in old}


async def test_seq_keyed_messages_are_gathered_into_runs_at_start_and_writing_goes_on_after_them(
    api, connect, make_patient, make_doctor, db, engage_environment, tmp_root
):
    """Two blocks and a bit of the second layout, one block of it already moved by a run that was cut off."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    keys = MessageKey.get_pymongo_collection()
    legacy = keys.database[LEGACY_MESSAGES]
    old = seq_keyed(first_layout(pair, 2 * BLOCK_SEQS + 5))
    await keys.insert_many([{"_id": d["key"], "message": d["_id"]} for d in old])
    await legacy.insert_many(old[BLOCK_SEQS:])
    await MessageRun.get_pymongo_collection().insert_many(runs_from_start(pair.id, old[:BLOCK_SEQS]))  # block 0, moved
    await ConversationActivity.get_pymongo_collection().update_one(
        {"_id": ObjectId(pair.id)}, {"$set": {"last_seq": 3}}, upsert=True,  # behind, as after a crash
    )
    await forget_moves(legacy.database)
    await legacy.database["schema_migrations"].insert_one({"_id": MIGRATION_ID})  # the first move was done

    upgraded = start_engage("web", engage_environment, tmp_root)
    try:
        assert as_stored(await stored_messages(pair.id)) == as_stored(old)
        assert await legacy.count_documents({"conversation_id": ObjectId(pair.id)}) == 0
        runs = [r["_id"] for r in await MessageRun.get_pymongo_collection().find({"conversation_id": ObjectId(pair.id)}).sort("_id", 1).to_list()]
        assert runs == [run_id(pair.id, block, 0) for block in range(3)]
        last_sender = pair.doctor if old[-1]["sender_id"] == ObjectId(pair.doctor.id) else pair.patient
        client = await connect(last_sender.access_token, "websocket", url=upgraded.url)
        synced = await client.call("chat:sync", {"conversation_id": pair.id, "after_seq": BLOCK_SEQS - 2, "limit": 4})
        assert [(m["id"], m["seq"]) for m in synced["messages"]] == [(d["key"], d["seq"]) for d in old[BLOCK_SEQS - 2:BLOCK_SEQS + 2]]
        resent = await send(client, pair.id, old[-1]["body"], cid=old[-1]["client_id"])
        assert (resent["id"], resent["seq"]) == (old[-1]["key"], len(old))
        new = await send(client, pair.id, "after the move")
        assert new["seq"] == len(old) + 1
        # Written as the block's second run, after the moved one.
        stored = await MessageRun.get_pymongo_collection().find_one({"_id": run_id(pair.id, 2, 1)})
        assert [m["seq"] for m in stored["messages"]] == [len(old) + 1]
    finally:
        upgraded.stop()


async def test_a_writer_that_knows_an_older_tail_finds_the_newer_runs_and_leaves_no_gap(api, connect, make_patient, make_doctor, db, web, web2):
    """Two processes take turns in one conversation across a block boundary: each one's memory of the
    conversation's newest seq is stale at every turn, so every turn collides with the other's run first."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    here = await connect(pair.patient.access_token, "websocket", url=web.url)
    there = await connect(pair.doctor.access_token, "polling", url=web2.url)
    total = BLOCK_SEQS + 6
    acks = [await send((here, there)[n % 2], pair.id, f"turn {n}") for n in range(total)]
    assert [m["seq"] for m in acks] == list(range(1, total + 1))
    assert [(m["seq"], m["key"]) for m in await stored_messages(pair.id)] == [(m["seq"], m["id"]) for m in acks]
    runs = await MessageRun.get_pymongo_collection().find({"conversation_id": ObjectId(pair.id)}).sort("_id", 1).to_list()
    assert [r["_id"] for r in runs] == [run_id(pair.id, 0, n) for n in range(BLOCK_SEQS)] + [run_id(pair.id, 1, n) for n in range(6)]


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


async def test_a_commit_whose_answer_is_lost_is_confirmed_and_its_message_delivered(api, connect, make_patient, make_doctor, db, web):
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
    finally:
        await db.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
    assert "chat commit outcome unknown" in web.log_tail(100_000)  # the failpoint did fire
    assert message["seq"] == 1
    await doctor.wait_for("chat:message", lambda m: m["id"] == message["id"])
    assert [(d["seq"], d["key"]) for d in await stored_messages(pair.id)] == [(1, message["id"])]
    assert await MessageKey.get_pymongo_collection().count_documents({"_id": message["id"]}) == 1
    # The writer goes on from there: the next message takes seq 2.
    assert (await send(patient, pair.id, "and the next one"))["seq"] == 2
