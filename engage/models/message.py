"""Chat messages, keyed by their place in the conversation, and the senders' idempotency keys.

Neither collection has a secondary index. A message's _id is "<conversation id>:<seq>", so the
primary key is the arbiter of ordering (one message per seq), and with seqs dense a
conversation's messages 1..N have known _ids. The sender's client_id lives in MessageKey,
written in the same transaction.
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


def message_doc_ids(conversation_id: str, first_seq: int, last_seq: int) -> list[str]:
    """The stored _ids of a conversation's messages first_seq..last_seq (seqs are dense).

    Queries name exact _ids rather than an _id range: the embedded database answers a range on
    _id with a collection scan, and an $in of exact ids from the index."""
    return [message_doc_id(conversation_id, seq) for seq in range(max(first_seq, 1), last_seq + 1)]


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
