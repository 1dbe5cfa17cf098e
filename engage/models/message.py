"""Chat messages, stored in runs, and the senders' idempotency keys.

A run is the consecutive messages of one conversation that one group commit stored, within one
block of BLOCK_SEQS seqs: _id "<conversation>:<block>:<n>", n counting the block's runs from 0.
With seqs dense and a block's runs numbered densely, a conversation's messages 1..N have known
_ids, and the primary key is the arbiter of ordering: two writers that believe the same newest
seq write the same run _id, and a writer that believes an older one writes a run that exists.
Each message also has a MessageKey, written in the same transaction: its _id is derived from
(conversation, sender, client_id), so a resend collides there.

Neither collection has a secondary index. The embedded database's cost is per document (each
one is an insert, an oplog entry and later its pruning, about 0.1 ms more with any secondary
index), so under load a conversation's messages of one commit share one document: with 20
busy conversations, storing a message costs its database half what a document per message did
(`python bench/message_storage.py`), and with every message in a conversation of its own, the
same.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from beanie import Document
from beanie import PydanticObjectId
from bson import ObjectId
from pydantic import BaseModel
from pydantic import Field

SEQ_DIGITS = 10  # zero-padded, so string order is seq order within a conversation
BLOCK_SEQS = 64  # seqs per block; a run never spans two blocks
MAX_RUNS_PER_BLOCK = BLOCK_SEQS  # a run holds at least one message


def message_key(conversation_id: str, sender_id: str, client_id: str) -> str:
    """The message's public id, derived from the sender's client_id: a retry has the same one."""
    return hashlib.sha256(f"{conversation_id}\x00{sender_id}\x00{client_id}".encode()).hexdigest()[:24]


def message_address(conversation_id: str, seq: int) -> str:
    """"<conversation id>:<seq>", what a MessageKey points at (and an earlier layout's _id)."""
    return f"{conversation_id}:{seq:0{SEQ_DIGITS}d}"


def parse_message_address(address: str) -> tuple[str, int]:
    conversation_id, seq = address.rsplit(":", 1)
    return conversation_id, int(seq)


def block_of(seq: int) -> int:
    return (seq - 1) // BLOCK_SEQS


def run_id(conversation_id: str, block: int, n: int) -> str:
    return f"{conversation_id}:{block:08d}:{n:02d}"


class StoredMessage(BaseModel):
    """One message inside a run; with the run's conversation_id it is what message_out() reads."""

    seq: int
    key: str  # message_key(): the id clients see
    sender_id: PydanticObjectId
    client_id: str
    body: str
    created_at: datetime
    assistant: dict[str, Any] | None = None  # schemas.assistant.AssistantInfo, on the assistant's messages


class MessageRun(Document):
    id: str = Field(default=None)  # type: ignore[assignment]  # run_id(conversation_id, block, n)
    conversation_id: PydanticObjectId
    messages: list[StoredMessage]  # in seq order, consecutive

    class Settings:
        name = "message_runs"


def run_document(conversation_id: str, n: int, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A run's raw document from messages as message_docs() gives them (one block, in seq order)."""
    return {
        "_id": run_id(conversation_id, block_of(messages[0]["seq"]), n),
        "conversation_id": ObjectId(conversation_id),
        "messages": [
            {k: m[k] for k in ("seq", "key", "sender_id", "client_id", "body", "created_at", "assistant") if k in m} for m in messages
        ],
    }


def ends_block(seq: int) -> bool:
    return seq % BLOCK_SEQS == 0


def split_by_block(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive messages of one conversation, cut where a block ends."""
    runs: list[list[dict[str, Any]]] = []
    for message in messages:
        if runs and not ends_block(runs[-1][-1]["seq"]):
            runs[-1].append(message)
        else:
            runs.append([message])
    return runs


def commit_runs(conversation_id: str, messages: list[dict[str, Any]], runs_in_block: int) -> tuple[list[dict[str, Any]], int]:
    """The raw runs one commit writes for a conversation's consecutive new messages, given how
    many runs the block of the first one already holds; and how many runs the block of the seq
    after the last one holds then."""
    runs, n = [], runs_in_block
    for part in split_by_block(messages):
        runs.append(run_document(conversation_id, n, part))
        n = 0 if ends_block(part[-1]["seq"]) else n + 1
    return runs, n


def runs_from_start(conversation_id: str, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Raw run documents for a conversation's messages 1..N, a run per block (data made outside a writer)."""
    return commit_runs(conversation_id, messages, 0)[0]


def message_docs(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages of a raw run document, each a flat dict with its conversation_id."""
    return [{**m, "conversation_id": run["conversation_id"]} for m in run["messages"]]


class MessageKey(Document):
    """One per stored message, _id = message_key(): a resend collides here and finds the original."""

    id: str = Field(default=None)  # type: ignore[assignment]  # message_key()
    message: str  # message_address() of the message

    class Settings:
        name = "message_keys"
