"""Chat data stored by earlier versions, moved to what this version reads (steps of engage/migrations.py).

Messages (see models/message.py, one document per message in "chat_messages") went through
three earlier layouts:
1. "messages", a document per message under _id = its public id, with a unique
   (conversation_id, seq) index;
2. "messages", a document per message under "<conversation>:<seq>", its public id in "key", and a
   document per message in "message_keys" (_id = public id) for idempotency;
3. "message_runs", a conversation's consecutive messages of one commit in one document under
   "<conversation>:<block>:<n>", each message with its public id in "key"; "message_keys" as in 2.
A move cut off halfway by a crash could leave a message in two of them at once.
move_messages_to_one_document_each copies every message of each layout to its own document
under its public id, then deletes the old document: the new collection's unique indexes absorb a
repeat, so a crash anywhere, or a second run, loses nothing and stores nothing twice. Once the
old collections are empty it drops them, and "message_keys". Old-version processes must be
stopped first: a message they store after the move is not moved.

Conversation activity (see models/conversation.py): earlier versions kept the newest message and
the read positions on the conversation document itself; they are copied to ConversationActivity,
never over newer activity.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from engage.lib.by_ids import id_chunks, raw_documents_by_ids
from engage.models.base import utcnow
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.message import Message

log = logging.getLogger(__name__)

FLAT_MESSAGES = "messages"  # layouts 1 and 2
RUNS = "message_runs"  # layout 3
MESSAGE_KEYS = "message_keys"  # layouts 2 and 3
MESSAGE_FIELDS = ("conversation_id", "seq", "sender_id", "client_id", "body", "created_at", "assistant")
ACTIVITY_MIGRATION_ID = "conversation_activity_apart"
OLD_ACTIVITY_INDEXES = ("doctor_activity", "patient_activity")  # on conversations.activity_at


async def prepare_chat_storage() -> None:
    """The chat step that earlier versions ran at web start; messages move in their own step."""
    await move_conversation_activity()


async def move_messages_to_one_document_each(batch: int = 500) -> int:
    """Move the messages of every earlier layout to a document each; returns how many were moved."""
    messages = Message.get_pymongo_collection()
    database = messages.database
    # The unique indexes must exist before the first copy: they are what absorbs a repeat.
    await messages.create_indexes(Message.Settings.indexes)
    existing = set(await database.list_collection_names())
    moved = 0
    if FLAT_MESSAGES in existing:
        moved += await _move(database[FLAT_MESSAGES], _flat_messages(database[FLAT_MESSAGES]), batch)
    if RUNS in existing:
        moved += await _move(database[RUNS], _run_messages(database[RUNS]), batch)
    await _drop_emptied(database, existing)
    if moved:
        log.warning("moved %d chat messages to a document each", moved)
    return moved


async def _flat_messages(collection: AsyncCollection) -> AsyncIterator[tuple[Any, list[dict[str, Any]]]]:
    """(old _id, its messages in the new shape) of layouts 1 and 2, in one pass of one cursor."""
    async for doc in collection.find({}):
        # Layout 2 keeps the public id in "key"; layout 1's _id is the public id.
        yield doc["_id"], [_new_message(doc.get("key", doc["_id"]), doc)]


async def _run_messages(collection: AsyncCollection) -> AsyncIterator[tuple[Any, list[dict[str, Any]]]]:
    async for run in collection.find({}):
        yield run["_id"], [_new_message(m["key"], {**m, "conversation_id": run["conversation_id"]}) for m in run["messages"]]


def _new_message(public_id: str, old: dict[str, Any]) -> dict[str, Any]:
    return {"_id": public_id, **{field: old[field] for field in MESSAGE_FIELDS if old.get(field) is not None}}


async def _move(old: AsyncCollection, found: AsyncIterator[tuple[Any, list[dict[str, Any]]]], batch: int) -> int:
    """Copy what `found` yields in batches, then delete each old document whose messages are all there."""
    moved, pending = 0, []
    async for old_id, messages in found:
        pending.append((old_id, messages))
        if sum(len(m) for _, m in pending) >= batch:
            moved += await _copy_then_delete(old, pending)
            pending = []
    return moved + await _copy_then_delete(old, pending)


async def _copy_then_delete(old: AsyncCollection, pending: list[tuple[Any, list[dict[str, Any]]]]) -> int:
    if not pending:
        return 0
    new = Message.get_pymongo_collection()
    copies = [message for _, messages in pending for message in messages]
    try:
        await new.insert_many(copies, ordered=False)
    except BulkWriteError as exc:
        # 11000: copied already (a run cut off after its insert, or a message in two layouts).
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
            raise
    there = {doc["_id"] for doc in await raw_documents_by_ids(new, [m["_id"] for m in copies])}
    done = [old_id for old_id, messages in pending if all(m["_id"] in there for m in messages)]
    if len(done) < len(pending):
        # Another message holds its seq or client_id: two versions of one conversation disagree.
        # The old documents stay, and the step fails rather than hide a message.
        missing = [m for _, messages in pending for m in messages if m["_id"] not in there]
        raise RuntimeError(
            f"{len(missing)} chat messages could not be moved from {old.name}: another message holds their "
            f"(conversation_id, seq) or (conversation_id, sender_id, client_id), e.g. {missing[0]['_id']} "
            f"(conversation {missing[0]['conversation_id']}, seq {missing[0]['seq']})"
        )
    for chunk in id_chunks(done):
        await old.delete_many({"_id": {"$in": chunk}})
    return len(copies)


async def _drop_emptied(database: AsyncDatabase, existing: set[str]) -> None:
    """Drop the old message collections once empty, then the keys that only they used."""
    for name in (FLAT_MESSAGES, RUNS):
        if name in existing:
            if await database[name].find_one({}, {"_id": 1}) is not None:
                return  # an old process wrote meanwhile: keep the keys until a later run moves it
            await database.drop_collection(name)
    if MESSAGE_KEYS in existing:
        await database.drop_collection(MESSAGE_KEYS)


async def move_conversation_activity() -> int:
    """Copy read positions and newest messages from conversation documents; returns how many."""
    conversations, activity = Conversation.get_pymongo_collection(), ConversationActivity.get_pymongo_collection()
    migrations = conversations.database["schema_migrations"]
    if await migrations.find_one({"_id": ACTIVITY_MIGRATION_ID}):
        return 0
    moved = 0
    projection = {"last_seq": 1, "last_message": 1, "last_message_at": 1, "read_seqs": 1}
    async for old in conversations.find({"$or": [{"last_seq": {"$gt": 0}}, {"read_seqs": {"$exists": True, "$ne": {}}}]}, projection):
        read_seqs = {f"read_seqs.{user}": seq for user, seq in (old.get("read_seqs") or {}).items()}
        if read_seqs:
            await activity.update_one({"_id": old["_id"]}, {"$max": read_seqs}, upsert=True)
        if old.get("last_seq", 0) > 0:
            try:
                # Only where no newer message is recorded; the upsert collides on _id otherwise.
                await activity.update_one(
                    {"_id": old["_id"], "last_seq": {"$not": {"$gte": old["last_seq"]}}},
                    {"$set": {"last_seq": old["last_seq"], "last_message": old.get("last_message"), "last_message_at": old.get("last_message_at")}},
                    upsert=True,
                )
            except DuplicateKeyError:
                pass
        moved += 1
    existing = await conversations.index_information()
    for name in OLD_ACTIVITY_INDEXES:
        if name in existing:
            await conversations.drop_index(name)
    await migrations.update_one({"_id": ACTIVITY_MIGRATION_ID}, {"$set": {"done_at": utcnow(), "moved": moved}}, upsert=True)
    return moved
