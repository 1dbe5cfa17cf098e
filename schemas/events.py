"""The Socket.IO contract, event by event: what a client sends and gets back, and what the server pushes.

CLIENT_EVENTS is keyed like engage.policy.EVENT_POLICIES; engage.lib.api_docs turns both tables
into the AsyncAPI document, and tests/test_api_docs.py fails when a handler registered on the
server, or an event the code publishes, is missing here (or the reverse).

Every ack is {"ok": true, ...} on success or FailureAck ({"ok": false, "error": {...}}) on failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field

from schemas.api import ErrorBody
from schemas.booking import EVENT_SCHEMAS as BOOKING_EVENTS
from schemas.booking import ScheduleWatchRequest
from schemas.care import EmergencyAccessEvent
from schemas.chat import MessageOut
from schemas.chat import PresenceEvent
from schemas.chat import ReadAck
from schemas.chat import ReadEvent
from schemas.chat import ReadRequest
from schemas.chat import SendAck
from schemas.chat import SendMessageRequest
from schemas.chat import SyncAck
from schemas.chat import SyncRequest
from schemas.chat import TypingEvent
from schemas.chat import TypingRequest
from schemas.common import RequestModel
from schemas.pharmacy import LowStockEvent
from schemas.pharmacy import OrderUpdatedEvent
from schemas.records import DocumentProcessedEvent
from schemas.sessions import AuthExpiringEvent
from schemas.sessions import AuthRefreshAck
from schemas.sessions import AuthRefreshRequest
from schemas.vitals import AckRequest
from schemas.vitals import AdviceReadyEvent
from schemas.vitals import AlertAckedEvent
from schemas.vitals import AlertClearedEvent
from schemas.vitals import AlertEvent
from schemas.vitals import AlertOut
from schemas.vitals import DoseEvent
from schemas.vitals import DoseOut
from schemas.vitals import DoseTakenRequest
from schemas.vitals import ReadingEvent
from schemas.vitals import ReadingIn
from schemas.vitals import ReadingOut
from schemas.vitals import WatchRequest

# ---- acks the handlers build by hand ----------------------------------------------------------


class OkAck(BaseModel):
    ok: Literal[True]


class ScheduleWatchAck(BaseModel):
    ok: Literal[True]
    room: str
    timezone: str


class VitalsSubmitAck(BaseModel):
    ok: Literal[True]
    status: Literal["created", "duplicate"]
    id: str | None


class VitalsWatchAck(BaseModel):
    """The snapshot a watcher starts from: open alerts and the last two days' readings (at most 50)."""

    ok: Literal[True]
    patient_id: str
    patient_name: str
    alerts: list[AlertOut]
    readings: list[ReadingOut]


class AlertAck(BaseModel):
    ok: Literal[True]
    alert: AlertOut


class DoseAck(BaseModel):
    ok: Literal[True]
    dose: DoseOut


class ConnectAuth(RequestModel):
    """The Socket.IO connect packet's auth: a Bearer access token (the connection is refused without a valid one)."""

    token: str


# ---- the tables -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientEvent:
    summary: str
    payload: type[BaseModel]
    ack: type[BaseModel]  # the success ack; failures are FailureAck


CLIENT_EVENTS: dict[str, ClientEvent] = {
    "chat:send": ClientEvent("Send a message (idempotent by client_id)", SendMessageRequest, SendAck),
    "chat:typing": ClientEvent("Say I am (not) typing in a conversation", TypingRequest, OkAck),
    "chat:read": ClientEvent("Mark messages read up to seq", ReadRequest, ReadAck),
    "chat:sync": ClientEvent("Messages after a seq (catch-up after a reconnect)", SyncRequest, SyncAck),
    "schedule:watch": ClientEvent("Follow a doctor's or test centre's slots live", ScheduleWatchRequest, ScheduleWatchAck),
    "schedule:unwatch": ClientEvent("Stop following a schedule", ScheduleWatchRequest, OkAck),
    "vitals:submit": ClientEvent("Submit one reading", ReadingIn, VitalsSubmitAck),
    "vitals:watch": ClientEvent("Watch a patient's vitals live", WatchRequest, VitalsWatchAck),
    "vitals:unwatch": ClientEvent("Stop watching a patient's vitals", WatchRequest, OkAck),
    "vitals:ack": ClientEvent("Acknowledge (and snooze) an alert", AckRequest, AlertAck),
    "medication:taken": ClientEvent("Mark a dose taken (by dose, or a prescription's current dose)", DoseTakenRequest, DoseAck),
    "auth:refresh": ClientEvent("Extend the connection with a fresh access token of the same session (after auth:expiring)", AuthRefreshRequest, AuthRefreshAck),
}

class FailureAck(BaseModel):
    """The ack of any event that failed: the HTTP error body's fields (engage.errors.ApiError.to_ack)."""

    model_config = ConfigDict(extra="allow")

    ok: Literal[False]
    error: ErrorBody
    retry_after: float | None = Field(default=None, description="rate_limited, server_busy and outages: seconds to wait")


ERROR_ACK = FailureAck

SERVER_EVENTS: dict[str, type[BaseModel]] = {
    "chat:message": MessageOut,
    "chat:typing": TypingEvent,
    "chat:read": ReadEvent,
    "presence": PresenceEvent,
    **BOOKING_EVENTS,
    "vitals:reading": ReadingEvent,
    "vitals:alert": AlertEvent,
    "vitals:acked": AlertAckedEvent,
    "vitals:cleared": AlertClearedEvent,
    "advice:ready": AdviceReadyEvent,
    "medication:dose": DoseEvent,
    "care:emergency_access": EmergencyAccessEvent,
    "document:processed": DocumentProcessedEvent,
    "order:updated": OrderUpdatedEvent,
    "pharmacy:order": OrderUpdatedEvent,
    "pharmacy:low_stock": LowStockEvent,
    "auth:expiring": AuthExpiringEvent,
}

# Socket.IO's lifecycle handlers: registered on the server, never client events.
LIFECYCLE_EVENTS = frozenset({"connect", "disconnect"})
