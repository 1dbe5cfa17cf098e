"""Chat messages: one document per message.

_id is the message's public id, derived from (conversation, sender, client_id) by message_key(),
so a sender's retry names the same message. Two unique indexes are the arbiters the writer
relies on (engage/actions/messages.py): (conversation_id, seq) lets one message only hold a seq,
whichever process stores it first; (conversation_id, sender_id, client_id) lets a sender store
one message per client_id. Reads name a bounded seq range, which the first index serves (an
unbounded sort by seq makes the embedded database fetch and sort the whole conversation).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

SEQ_INDEX = "conversation_seq"
CLIENT_INDEX = "conversation_sender_client"


def message_key(conversation_id: str, sender_id: str, client_id: str) -> str:
    """The message's public id, derived from the sender's client_id: a retry has the same one."""
    return hashlib.sha256(f"{conversation_id}\x00{sender_id}\x00{client_id}".encode()).hexdigest()[:24]


class Message(Document):
    id: str = Field(default=None)  # type: ignore[assignment]  # message_key(), the id clients see
    conversation_id: PydanticObjectId
    seq: int  # 1, 2, 3, ... per conversation, dense
    sender_id: PydanticObjectId
    client_id: str
    body: str
    created_at: datetime
    assistant: dict[str, Any] | None = None  # schemas.assistant.AssistantInfo, on the assistant's messages

    class Settings:
        name = "chat_messages"
        indexes = [
            IndexModel([("conversation_id", ASCENDING), ("seq", ASCENDING)], unique=True, name=SEQ_INDEX),
            IndexModel([("conversation_id", ASCENDING), ("sender_id", ASCENDING), ("client_id", ASCENDING)], unique=True, name=CLIENT_INDEX),
        ]
