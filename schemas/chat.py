"""Chat: requests, socket acks and event payloads (the names and shapes are the contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, StrictBool, StrictInt, model_serializer, model_validator

from schemas.assistant import AssistantInfo
from schemas.common import ObjectIdStr, RequestModel

BODY_MAX = 4000
CLIENT_ID_MAX = 64
SYNC_LIMIT_MAX = 500
HISTORY_LIMIT_MAX = 100
CONVERSATION_PAGE_MAX = 200

ClientId = Field(min_length=1, max_length=CLIENT_ID_MAX)
Body = Field(min_length=1, max_length=BODY_MAX)


# --- requests ---------------------------------------------------------------------------


class CreateConversationRequest(RequestModel):
    """A patient names a doctor, a doctor names a patient."""

    doctor_id: ObjectIdStr | None = None
    patient_id: ObjectIdStr | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CreateConversationRequest:
        if (self.doctor_id is None) == (self.patient_id is None):
            raise ValueError("send exactly one of doctor_id or patient_id")
        return self


class PostMessageRequest(RequestModel):
    """POST /api/conversations/{id}/messages."""

    client_id: str = ClientId
    body: str = Body


class SendMessageRequest(PostMessageRequest):
    """chat:send."""

    conversation_id: ObjectIdStr


class TypingRequest(RequestModel):
    conversation_id: ObjectIdStr
    typing: StrictBool


class ReadRequest(RequestModel):
    conversation_id: ObjectIdStr
    seq: StrictInt = Field(ge=0)


class SyncRequest(RequestModel):
    conversation_id: ObjectIdStr
    after_seq: StrictInt = Field(ge=0)
    limit: StrictInt = Field(default=100, ge=1, le=SYNC_LIMIT_MAX)


class ConversationListQuery(RequestModel):
    """GET /api/conversations: newest activity first; with limit, next_before pages on."""

    limit: int | None = Field(default=None, ge=1, le=CONVERSATION_PAGE_MAX)
    # Opaque to clients: "<activity time, ms since the epoch>.<conversation id>" of the last one shown.
    before: str | None = Field(default=None, pattern=r"^\d{1,15}\.[0-9a-f]{24}$")

    def before_position(self) -> tuple[int, str] | None:
        if self.before is None:
            return None
        millis, conversation_id = self.before.split(".")
        return int(millis), conversation_id


def list_cursor(position: tuple[int, str]) -> str:
    """The `before` that continues a listing after the conversation at this position."""
    return "{}.{}".format(*position)


class HistoryQuery(RequestModel):
    """GET /api/conversations/{id}/messages: newest first, before_seq pages backwards."""

    before_seq: int | None = Field(default=None, ge=1)
    limit: int = Field(default=50, ge=1, le=HISTORY_LIMIT_MAX)


class ReadBody(RequestModel):
    """POST /api/conversations/{id}/read."""

    seq: StrictInt = Field(ge=0)


# --- payloads out -----------------------------------------------------------------------


class MessageOut(BaseModel):
    """One message; also the payload of the `chat:message` event."""

    id: str
    conversation_id: str
    seq: int = Field(ge=1)
    sender_id: str
    client_id: str
    body: str
    created_at: datetime
    # Only on messages of the assistant (and the handover summaries it posts): intent, triage,
    # actions. Left out of the JSON of every other message.
    assistant: AssistantInfo | None = None

    # No return annotation: pydantic would document the model as that type (a bare object) instead
    # of its fields in the API documents.
    @model_serializer(mode="wrap")
    def _without_empty_assistant(self, handler: SerializerFunctionWrapHandler):
        data = handler(self)
        if data.get("assistant") is None:
            data.pop("assistant", None)
        return data


class ParticipantOut(BaseModel):
    id: str
    name: str
    role: Literal["patient", "doctor", "assistant"]
    online: bool


class ConversationOut(BaseModel):
    id: str
    patient_id: str
    doctor_id: str
    other_party: ParticipantOut
    last_message: MessageOut | None
    last_seq: int
    read_seq: int  # the caller's read position
    other_read_seq: int = 0  # the other participant's read position (read ticks after a reload)
    unread_count: int
    created_at: datetime
    last_message_at: datetime | None


class TypingEvent(BaseModel):
    """`chat:typing`."""

    conversation_id: str
    user_id: str
    typing: bool


class ReadEvent(BaseModel):
    """`chat:read`."""

    conversation_id: str
    user_id: str
    seq: int


class PresenceEvent(BaseModel):
    """`presence`."""

    user_id: str
    status: Literal["online", "offline"]


class SendAck(BaseModel):
    ok: Literal[True]
    message: MessageOut


class SyncAck(BaseModel):
    ok: Literal[True]
    messages: list[MessageOut]


class ReadAck(BaseModel):
    ok: Literal[True]
    seq: int


class ErrorAck(BaseModel):
    ok: Literal[False]
    error: dict
    retry_after: float | None = None  # seconds, with rate_limited and server_busy


class MissedMessagesJob(BaseModel):
    """Arguments of workers.chat.send_missed_messages_alert."""

    conversation_id: str
    recipient_id: str
    first_unread_seq: int
    window_seconds: float
