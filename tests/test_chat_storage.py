"""How chat messages are stored: one transaction per group commit, and messages of earlier versions moved."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from bson import ObjectId
from pymongo import ASCENDING

from engage.lib.message_layout import MIGRATION_ID, OLD_SEQ_INDEX, prepare_message_storage
from engage.models.message import Message, MessageKey, message_doc_id, message_key
from tests.chat_factories import client_id, messages_for, open_pair, send
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
    stored = await Message.get_pymongo_collection().find({"conversation_id": ObjectId(pair.id)}).to_list()
    assert sorted(d["seq"] for d in stored) == list(range(1, len(cids) + 1))
    assert await MessageKey.get_pymongo_collection().count_documents({"_id": {"$in": [d["key"] for d in stored]}}) == len(cids)
    # Delivered once each: a resend that lost the race delivers nothing.
    await doctor.wait_for("chat:message", lambda m: len(messages_for(doctor, pair.id)) >= len(cids))
    later = await send(here, pair.id, "after the race")
    await doctor.wait_for("chat:message", lambda m: m["id"] == later["id"])
    assert sorted(m["seq"] for m in messages_for(doctor, pair.id)) == list(range(1, len(cids) + 2))


def old_layout(pair, count: int) -> list[dict]:
    """Messages as an earlier version stored them: _id = public id, found through a (conversation, seq) index."""
    sent_at = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
    senders = (pair.patient, pair.doctor)
    return [
        {
            "_id": message_key(pair.id, senders[seq % 2].id, f"old-{seq}"), "conversation_id": ObjectId(pair.id), "seq": seq,
            "sender_id": ObjectId(senders[seq % 2].id), "client_id": f"old-{seq}", "body": f"old message {seq}", "created_at": sent_at,
        }
        for seq in range(1, count + 1)
    ]


async def test_messages_of_the_earlier_layout_are_moved_at_start_and_still_served(api, connect, make_patient, make_doctor, db, engage_environment, tmp_root):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    messages = Message.get_pymongo_collection()
    old = old_layout(pair, 3)
    await messages.create_index([("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True, name=OLD_SEQ_INDEX)
    await messages.insert_many(old)
    await messages.database["schema_migrations"].delete_one({"_id": MIGRATION_ID})

    upgraded = start_engage("web", engage_environment, tmp_root)
    try:
        assert OLD_SEQ_INDEX not in await messages.index_information()
        stored = await messages.find({"conversation_id": ObjectId(pair.id)}).sort("_id", 1).to_list()
        assert [(d["_id"], d["key"], d["body"]) for d in stored] == [(message_doc_id(pair.id, d["seq"]), d["_id"], d["body"]) for d in old]
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


async def test_a_move_cut_off_halfway_is_finished_without_loss_or_copies(api, make_patient, make_doctor, db):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    messages, keys = Message.get_pymongo_collection(), MessageKey.get_pymongo_collection()
    old = old_layout(pair, 5)
    await messages.insert_many(old)
    # The cut-off run had copied the first two (one with its key only) and deleted none.
    await keys.insert_many([{"_id": d["_id"], "message": message_doc_id(pair.id, d["seq"])} for d in old[:2]])
    await messages.insert_one({**old[0], "_id": message_doc_id(pair.id, 1), "key": old[0]["_id"]})
    await messages.database["schema_migrations"].delete_one({"_id": MIGRATION_ID})

    assert await prepare_message_storage(batch=2) == len(old)
    assert await prepare_message_storage() == 0  # done once, remembered
    stored = await messages.find({"conversation_id": ObjectId(pair.id)}).sort("_id", 1).to_list()
    assert [(d["_id"], d["key"], d["body"]) for d in stored] == [(message_doc_id(pair.id, d["seq"]), d["_id"], d["body"]) for d in old]
    moved_keys = [k["_id"] async for k in keys.find({"message": {"$in": [d["_id"] for d in stored]}})]
    assert sorted(moved_keys) == sorted(d["_id"] for d in old)
