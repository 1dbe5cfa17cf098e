"""Moving chat messages stored by earlier versions to the current layout (see models/message.py).

Earlier versions stored a message under _id = its public id, with a unique index on
(conversation_id, seq). Web processes run this before they serve: each old message is copied
to "<conversation>:<seq>" with its MessageKey, and deleted only once both exist, so a crash or
two processes doing it at once lose nothing and repeat nothing. Old-version processes must be
stopped first: a message they store after the move is not moved.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, CollectionInvalid

from engage.models.base import utcnow
from engage.models.message import Message, MessageKey, message_doc_id

log = logging.getLogger(__name__)

MIGRATION_ID = "messages_keyed_by_seq"
OLD_SEQ_INDEX = "conversation_seq_unique"


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


async def _move(messages: AsyncCollection, keys: AsyncCollection, old: list[dict[str, Any]]) -> int:
    if not old:
        return 0
    new = [{**doc, "_id": message_doc_id(str(doc["conversation_id"]), doc["seq"]), "key": doc["_id"]} for doc in old]
    await _insert_missing(keys, [{"_id": doc["key"], "message": doc["_id"]} for doc in new])
    await _insert_missing(messages, new)
    await messages.delete_many({"_id": {"$in": [doc["_id"] for doc in old]}})
    return len(old)


async def _insert_missing(collection: AsyncCollection, docs: list[dict[str, Any]]) -> None:
    """Insert what is not there yet (a repeated or concurrent run finds some already moved)."""
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
            raise
