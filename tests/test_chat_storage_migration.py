"""Messages stored by earlier versions, in each of their layouts, are moved to a document each and served as before."""

from __future__ import annotations

from datetime import datetime, timezone

from bson import ObjectId
from pymongo import ASCENDING

from engage.lib.message_layout import FLAT_MESSAGES, MESSAGE_KEYS, RUNS, move_messages_to_one_document_each
from engage.migrations import MIGRATIONS, STEPS
from engage.models.conversation import ConversationActivity
from engage.models.message import Message, message_key
from tests.chat_factories import open_pair, send, stored_messages
from tests.servers import run_app

STEP = next(step for step in STEPS if step.run is move_messages_to_one_document_each)

BLOCK_SEQS = 64  # the runs layout's block: a run never spanned two


def first_layout(pair, count: int) -> list[dict]:
    """Messages as the first layout stored them in "messages": _id = public id, a unique (conversation, seq) index."""
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
    """The same messages as the second layout stored them in "messages": _id "<conversation>:<seq>", the public id in "key"."""
    return [{**d, "_id": f"{d['conversation_id']}:{d['seq']:010d}", "key": d["_id"]} for d in first]


def message_keys(first: list[dict]) -> list[dict]:
    """The second and third layouts' idempotency keys: _id = public id, pointing at "<conversation>:<seq>"."""
    return [{"_id": d["_id"], "message": f"{d['conversation_id']}:{d['seq']:010d}"} for d in first]


def runs(first: list[dict], per_run: int) -> list[dict]:
    """The same messages as the third layout stored them in "message_runs": consecutive messages of a
    commit (per_run of them here) in one document "<conversation>:<block>:<n>", cut where a block of 64 ends."""
    found: list[dict] = []
    for d in first:
        block = (d["seq"] - 1) // BLOCK_SEQS
        message = {k: d[k] for k in ("seq", "sender_id", "client_id", "body", "created_at")} | {"key": d["_id"]}
        last = found[-1] if found else None
        if last and (last["messages"][-1]["seq"] - 1) // BLOCK_SEQS == block and len(last["messages"]) < per_run:
            last["messages"].append(message)
            continue
        n = sum(1 for r in found if r["_id"].split(":")[1] == f"{block:08d}")
        found.append({"_id": f"{d['conversation_id']}:{block:08d}:{n:02d}", "conversation_id": d["conversation_id"], "messages": [message]})
    return found


def as_served(messages: list[dict]) -> list[tuple]:
    """(id, seq, sender, client_id, body) of stored documents (any layout) or of chat:sync's messages."""
    return [
        (d.get("key", d.get("id", d.get("_id"))), d["seq"], str(d["sender_id"]), d["client_id"], d["body"])
        for d in messages
    ]


async def sync_all(client, conversation_id: str) -> list[dict]:
    messages, after = [], 0
    while page := (await client.call("chat:sync", {"conversation_id": conversation_id, "after_seq": after, "limit": 50}))["messages"]:
        messages += page
        after = page[-1]["seq"]
    return messages


async def note_activity(pair, last_seq: int) -> None:
    await ConversationActivity.get_pymongo_collection().update_one({"_id": ObjectId(pair.id)}, {"$set": {"last_seq": last_seq}}, upsert=True)


async def test_migrate_moves_messages_of_every_earlier_layout_and_they_are_served_with_dense_seqs(
    api, connect, make_patient, make_doctor, db, engage_environment
):
    """Three conversations, one per earlier layout, with the keys and indexes those layouts had;
    `python app.py migrate` runs the step (the suite's database has it recorded as done)."""
    database = Message.get_pymongo_collection().database
    pairs = [await open_pair(api, await make_patient(), await make_doctor()) for _ in range(3)]
    first = first_layout(pairs[0], 5)
    second = first_layout(pairs[1], 70)
    third = first_layout(pairs[2], 2 * BLOCK_SEQS + 5)
    await database[FLAT_MESSAGES].create_index([("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True, name="conversation_seq_unique")
    await database[FLAT_MESSAGES].insert_many(first + seq_keyed(second))
    await database[RUNS].insert_many(runs(third, per_run=10))
    await database[MESSAGE_KEYS].insert_many(message_keys(second) + message_keys(third))
    for pair, old in zip(pairs, (first, second, third), strict=True):
        await note_activity(pair, old[-1]["seq"] - 3)  # behind, as after a crash between insert and activity

    await database[MIGRATIONS].delete_one({"_id": STEP.id})

    result = run_app(engage_environment, "migrate")

    assert result.returncode == 0, result.stderr
    assert f"{STEP.version} {STEP.id}: done" in result.stdout

    assert {FLAT_MESSAGES, RUNS, MESSAGE_KEYS}.isdisjoint(await database.list_collection_names())
    for pair, old in zip(pairs, (first, second, third), strict=True):
        assert as_served(await stored_messages(pair.id)) == as_served(old)
        doctor = await connect(pair.doctor.access_token, "websocket")
        synced = await sync_all(doctor, pair.id)
        assert as_served(synced) == as_served(old)
        assert [m["seq"] for m in synced] == list(range(1, len(old) + 1))
        # A resend of the newest old message finds it; a new message continues the seqs.
        last_sender = pair.doctor if old[-1]["sender_id"] == ObjectId(pair.doctor.id) else pair.patient
        resender = doctor if last_sender is pair.doctor else await connect(pair.patient.access_token, "websocket")
        resent = await send(resender, pair.id, old[-1]["body"], cid=old[-1]["client_id"])
        assert (resent["id"], resent["seq"]) == (old[-1]["_id"], len(old))
        assert (await send(resender, pair.id, "after the move"))["seq"] == len(old) + 1


async def test_a_move_cut_off_halfway_is_finished_without_loss_or_copies(api, connect, make_patient, make_doctor, db):
    """The cut-off run had copied some messages without deleting them, and an older move had left a
    message in two layouts at once; running again finishes it, and a third run finds nothing."""
    database = Message.get_pymongo_collection().database
    pair = await open_pair(api, await make_patient(), await make_doctor())
    old = first_layout(pair, BLOCK_SEQS + 10)
    await database[RUNS].insert_many(runs(old[:BLOCK_SEQS], per_run=7))
    await database[FLAT_MESSAGES].insert_many(seq_keyed(old[BLOCK_SEQS - 3:]))  # 3 of them in a run too
    await database[MESSAGE_KEYS].insert_many(message_keys(old))
    await Message.get_pymongo_collection().insert_many(old[:20] + old[BLOCK_SEQS:BLOCK_SEQS + 2])  # copied, not deleted
    await note_activity(pair, 1)

    assert await move_messages_to_one_document_each(batch=16) == BLOCK_SEQS + 13
    assert await move_messages_to_one_document_each() == 0

    assert as_served(await stored_messages(pair.id)) == as_served(old)
    patient = await connect(pair.patient.access_token, "polling")
    synced = await sync_all(patient, pair.id)
    assert [m["seq"] for m in synced] == list(range(1, len(old) + 1))
    assert as_served(synced) == as_served(old)
