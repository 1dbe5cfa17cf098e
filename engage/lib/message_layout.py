"""Chat data stored by earlier versions, brought to the current layout before a web process serves.

Messages (see models/message.py): earlier versions stored a message under _id = its public id,
with a unique index on (conversation_id, seq). Each old message is copied to "<conversation>:<seq>" with its MessageKey, and deleted only once both exist, so a crash or
two processes doing it at once lose nothing and repeat nothing. Old-version processes must be
stopped first: a message they store after the move is not moved.

Conversation activity (see models/conversation.py): earlier versions kept the newest message and
the read positions on the conversation document itself; they are copied to ConversationActivity,
never over newer activity.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, CollectionInvalid, DuplicateKeyError

from engage.lib.by_ids import id_chunks
from engage.models.base import utcnow
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.message import Message, MessageKey, message_doc_id

log = logging.getLogger(__name__)

MIGRATION_ID = "messages_keyed_by_seq"
ACTIVITY_MIGRATION_ID = "conversation_activity_apart"
OLD_SEQ_INDEX = "conversation_seq_unique"
OLD_ACTIVITY_INDEXES = ("doctor_activity", "patient_activity")  # on conversations.activity_at


async def prepare_chat_storage() -> None:
    """Run by every web process before it serves; each step is done once and remembered."""
    await prepare_message_storage()
    await move_conversation_activity()


async def prepare_message_storage(batch: int = 1000) -> int:
    """Create the message collections (transactions cannot on every server) and move old messages.

    Returns how many messages were moved."""
    messages, keys = Message.get_pymongo_collection(), MessageKey.get_pymongo_collection()
    database = messages.database
    existing = set(await database.list_collection_names())
    for name in (messages.name, keys.name):
        if name not in existing:
            try:
                await database.create_collection(name)
            except CollectionInvalid:  # another process created it first
                pass
    migrations = database["schema_migrations"]
    if await migrations.find_one({"_id": MIGRATION_ID}):
        return 0
    if OLD_SEQ_INDEX in await messages.index_information():
        # Its (conversation_id, seq) pairs are about to exist twice, old and moved, for a moment.
        await messages.drop_index(OLD_SEQ_INDEX)
    moved, old = 0, []
    # One pass of one cursor: a query per batch would scan the collection once per batch.
    async for doc in messages.find({"key": {"$exists": False}}, batch_size=batch):
        old.append(doc)
        if len(old) == batch:
            moved += await _move(messages, keys, old)
            old = []
    moved += await _move(messages, keys, old)
    await migrations.update_one({"_id": MIGRATION_ID}, {"$set": {"done_at": utcnow(), "moved": moved}}, upsert=True)
    if moved:
        log.warning("moved %d chat messages to the seq-keyed layout", moved)
    return moved


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


async def _move(messages: AsyncCollection, keys: AsyncCollection, old: list[dict[str, Any]]) -> int:
    if not old:
        return 0
    new = [{**doc, "_id": message_doc_id(str(doc["conversation_id"]), doc["seq"]), "key": doc["_id"]} for doc in old]
    await _insert_missing(keys, [{"_id": doc["key"], "message": doc["_id"]} for doc in new])
    await _insert_missing(messages, new)
    for chunk in id_chunks([doc["_id"] for doc in old]):
        await messages.delete_many({"_id": {"$in": chunk}})
    return len(old)


async def _insert_missing(collection: AsyncCollection, docs: list[dict[str, Any]]) -> None:
    """Insert what is not there yet (a repeated or concurrent run finds some already moved)."""
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
            raise
