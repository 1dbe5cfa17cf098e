"""Conversations: one per patient-doctor pair, with the counters chat needs to list them."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import BaseModel
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
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


class Conversation(Document):
    patient_id: PydanticObjectId
    doctor_id: PydanticObjectId
    created_at: datetime = Field(default_factory=utcnow)
    # Denormalised from messages after each group commit; the messages collection is the
    # authority for seq (its unique index), these only serve listings and unread counts.
    last_seq: int = 0
    last_message: LastMessage | None = None
    last_message_at: datetime | None = None
    activity_at: datetime = Field(default_factory=utcnow)  # last message, or creation
    read_seqs: dict[str, int] = Field(default_factory=dict)  # user id -> highest seq read

    class Settings:
        name = "conversations"
        indexes = [
            IndexModel([("patient_id", ASCENDING), ("doctor_id", ASCENDING)], unique=True, name="pair_unique"),
            IndexModel([("doctor_id", ASCENDING), ("activity_at", DESCENDING)], name="doctor_activity"),
            IndexModel([("patient_id", ASCENDING), ("activity_at", DESCENDING)], name="patient_activity"),
        ]

    def participant_ids(self) -> tuple[str, str]:
        return str(self.patient_id), str(self.doctor_id)

    def other_participant(self, user_id: str) -> str:
        return str(self.doctor_id) if str(self.patient_id) == str(user_id) else str(self.patient_id)
