"""Conversations: one per patient-doctor pair; their activity (newest message, read positions) apart."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from beanie import PydanticObjectId
from pydantic import BaseModel
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class LastMessage(BaseModel):
    """A copy of the newest message, so listing conversations needs no message query."""

    id: str
    seq: int
    sender_id: str
    client_id: str
    body: str
    created_at: datetime
    assistant: dict[str, Any] | None = None  # on the assistant's messages (a handover summary puts the chat first)


class Conversation(Document):
    """Who talks to whom. Written once; what changes with every message is in ConversationActivity."""

    patient_id: PydanticObjectId
    doctor_id: PydanticObjectId
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "conversations"
        indexes = [
            IndexModel([("patient_id", ASCENDING), ("doctor_id", ASCENDING)], unique=True, name="pair_unique"),
            IndexModel([("doctor_id", ASCENDING)], name="doctor_conversations"),
        ]

    def participant_ids(self) -> tuple[str, str]:
        return str(self.patient_id), str(self.doctor_id)

    def other_participant(self, user_id: str) -> str:
        return str(self.doctor_id) if str(self.patient_id) == str(user_id) else str(self.patient_id)


class ConversationActivity(Document):
    """A conversation's newest message and read positions, keyed by the conversation's id.

    Denormalised from messages after each group commit; the messages collection is the
    authority for seq (its unique (conversation_id, seq) index), this only serves listings and unread counts. It has
    no secondary index on purpose: it is updated with every commit, and the embedded database
    rewrites every index of a document it updates (about 1 ms per update with the three of
    Conversation, a quarter of that with none). A missing document means no message and
    nothing read (writers upsert it).
    """

    id: PydanticObjectId  # type: ignore[assignment]  # the conversation's id
    last_seq: int = 0
    last_message: LastMessage | None = None
    last_message_at: datetime | None = None
    read_seqs: dict[str, int] = Field(default_factory=dict)  # user id -> highest seq read

    class Settings:
        name = "conversation_activity"
