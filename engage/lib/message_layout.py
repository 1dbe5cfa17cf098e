"""Chat data stored by earlier versions, brought to the current layout before a web process serves.

Messages (see models/message.py) went through two earlier layouts, both in the collection
"messages": first a document per message under _id = its public id, with a unique index on
(conversation_id, seq); then a document per message under "<conversation>:<seq>", with its
MessageKey. Messages of the first are copied to the second with their keys, and deleted only
once both exist; then each block of a conversation's messages becomes one run, inserted and
its messages deleted in one transaction. A crash or two processes doing it at once lose nothing
and repeat nothing. MessageKeys point at "<conversation>:<seq>" in every layout, so they stay as
they are. Old-version processes must be stopped first: a message they store after the move is
not moved.

Conversation activity (see models/conversation.py): earlier versions kept the newest message and
the read positions on the conversation document itself; they are copied to ConversationActivity,
never over newer activity.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, CollectionInvalid, DuplicateKeyError, PyMongoError

from engage.lib.by_ids import id_chunks
from engage.models.base import utcnow
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.message import (
    BLOCK_SEQS,
    MessageKey,
    MessageRun,
    block_of,
    message_address,
    parse_message_address,
    run_document,
)

log = logging.getLogger(__name__)

MIGRATION_ID = "messages_keyed_by_seq"
RUNS_MIGRATION_ID = "messages_in_runs"
LEGACY_MESSAGES = "messages"  # the collection of both earlier layouts
MOVE_ATTEMPTS = 5
ACTIVITY_MIGRATION_ID = "conversation_activity_apart"
OLD_SEQ_INDEX = "conversation_seq_unique"
OLD_ACTIVITY_INDEXES = ("doctor_activity", "patient_activity")  # on conversations.activity_at


async def prepare_chat_storage() -> None:
    """Run by every web process before it serves; each step is done once and remembered."""
    await prepare_message_storage()
    await move_conversation_activity()


async def prepare_message_storage(batch: int = 1000) -> int:
    """Create the message collections (transactions cannot on every server) and move old messages.

    Returns how many messages were moved into runs."""
    runs, keys = MessageRun.get_pymongo_collection(), MessageKey.get_pymongo_collection()
    database = runs.database
    existing = set(await database.list_collection_names())
    for name in (runs.name, keys.name):
        if name not in existing:
            try:
                await database.create_collection(name)
            except CollectionInvalid:  # another process created it first
                pass
    if LEGACY_MESSAGES in existing:
        await _key_messages_by_seq(database, batch)
    return await _gather_messages_into_runs(database)


async def _key_messages_by_seq(database: AsyncDatabase, batch: int) -> int:
    """The first layout to the second; returns how many messages were moved."""
    messages, keys = database[LEGACY_MESSAGES], MessageKey.get_pymongo_collection()
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


async def _gather_messages_into_runs(database: AsyncDatabase) -> int:
    """The second layout to runs, a block at a time; returns how many messages were moved."""
    migrations = database["schema_migrations"]
    if await migrations.find_one({"_id": RUNS_MIGRATION_ID}):
        return 0
    legacy = database[LEGACY_MESSAGES]
    newest: dict[str, int] = {}
    # One pass of one cursor, _ids only; "key" marks the second layout (the first one's
    # documents were all moved before this, unless an old process wrote after the move).
    async for doc in legacy.find({"key": {"$exists": True}}, {"_id": 1}):
        conversation_id, seq = parse_message_address(doc["_id"])
        newest[conversation_id] = max(newest.get(conversation_id, 0), seq)
    moved = 0
    for conversation_id, top in newest.items():
        for block in range(block_of(top) + 1):
            moved += await _move_block(legacy, conversation_id, block)
    await migrations.update_one({"_id": RUNS_MIGRATION_ID}, {"$set": {"done_at": utcnow(), "moved": moved}}, upsert=True)
    if moved:
        log.warning("moved %d chat messages into runs", moved)
    return moved


async def _move_block(legacy: AsyncCollection, conversation_id: str, block: int) -> int:
    """One block's messages of the second layout into run 0 of the block, in one transaction."""
    runs = MessageRun.get_pymongo_collection()
    ids = [message_address(conversation_id, seq) for seq in range(block * BLOCK_SEQS + 1, (block + 1) * BLOCK_SEQS + 1)]
    for attempt in range(MOVE_ATTEMPTS):
        try:
            async with runs.database.client.start_session() as session:
                async with await session.start_transaction():
                    old = []
                    for chunk in id_chunks(ids):
                        old += await legacy.find({"_id": {"$in": chunk}}, session=session).to_list()
                    if not old:
                        return 0  # moved by another process, or never there
                    await runs.insert_one(run_document(conversation_id, 0, sorted(old, key=lambda d: d["seq"])), session=session)
                    for chunk in id_chunks([d["_id"] for d in old]):
                        await legacy.delete_many({"_id": {"$in": chunk}}, session=session)
            return len(old)
        except PyMongoError as exc:
            # Another process moving the same block: its commit conflicts with this one, and the
            # next attempt finds the block's messages gone. Anything else is raised in the end,
            # rather than serving with messages left behind.
            if attempt == MOVE_ATTEMPTS - 1:
                raise
            log.info("moving block %d of conversation %s: %s; trying again", block, conversation_id, exc)
            await asyncio.sleep(0.05 * 2**attempt)
    return 0


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
    new = [{**doc, "_id": message_address(str(doc["conversation_id"]), doc["seq"]), "key": doc["_id"]} for doc in old]
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
