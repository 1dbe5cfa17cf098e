"""Chat messages, keyed by their place in the conversation, and the senders' idempotency keys.

Neither collection has a secondary index. A message's _id is "<conversation id>:<seq>", so the
primary key is the arbiter of ordering (one message per seq) and a conversation's messages are
one _id range. The sender's client_id lives in MessageKey, written in the same transaction.
The embedded database costs about 0.1 ms more per inserted document for any secondary index
(it re-reads its index catalogue per document), and two _id-only documents in a transaction
cost less than one document with a unique index: this is what group commit is made of.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field

SEQ_DIGITS = 10  # zero-padded, so string order is seq order within a conversation


def message_key(conversation_id: str, sender_id: str, client_id: str) -> str:
    """The message's public id, derived from the sender's client_id: a retry has the same one."""
    return hashlib.sha256(f"{conversation_id}\x00{sender_id}\x00{client_id}".encode()).hexdigest()[:24]


def message_doc_id(conversation_id: str, seq: int) -> str:
    """The stored _id of a conversation's message at seq."""
    return f"{conversation_id}:{seq:0{SEQ_DIGITS}d}"


def seq_range(conversation_id: str, after_seq: int, up_to_seq: int | None = None) -> dict:
    """A filter on _id for the conversation's messages with after_seq < seq <= up_to_seq (or the newest)."""
    upper = {"$lte": message_doc_id(conversation_id, up_to_seq)} if up_to_seq is not None else {"$lt": f"{conversation_id};"}  # ';' follows ':'
    return {"_id": {"$gt": message_doc_id(conversation_id, after_seq), **upper}}


class Message(Document):
    id: str = Field(default=None)  # type: ignore[assignment]  # message_doc_id(conversation_id, seq)
    key: str  # message_key(): the id clients see
    conversation_id: PydanticObjectId
    seq: int
    sender_id: PydanticObjectId
    client_id: str
    body: str
    created_at: datetime

    class Settings:
        name = "messages"


class MessageKey(Document):
    """One per stored message, _id = message_key(): a resend collides here and finds the original."""

    id: str = Field(default=None)  # type: ignore[assignment]  # message_key()
    message: str  # the message's _id

    class Settings:
        name = "message_keys"
