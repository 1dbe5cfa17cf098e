"""Chat test helpers: a patient-doctor pair with their conversation, and schema checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pydantic import BaseModel

from engage.models.message import Message

from schemas.chat import ErrorAck, MessageOut, SendAck
from tests.clients import Account, Api, RecordingClient


@dataclass
class Pair:
    patient: Account
    doctor: Account
    conversation: dict

    @property
    def id(self) -> str:
        return self.conversation["id"]


async def stored_messages(conversation_id: str) -> list[dict[str, Any]]:
    """Every stored message of a conversation (raw documents, _id the public id), in seq order,
    read straight from the collection."""
    found = await Message.get_pymongo_collection().find({"conversation_id": ObjectId(conversation_id)}).to_list()
    return sorted(found, key=lambda m: m["seq"])


async def open_pair(api: Api, patient: Account, doctor: Account) -> Pair:
    resp = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    assert resp.status in (200, 201), resp.body
    return Pair(patient, doctor, resp.body["conversation"])


def valid(model: type[BaseModel], data: Any) -> Any:
    """Validate an emitted payload against its schema; returns the data unchanged."""
    model.model_validate(data)
    return data


def client_id() -> str:
    return uuid.uuid4().hex


async def send(client: RecordingClient, conversation_id: str, body: str, cid: str | None = None) -> dict:
    """chat:send that must succeed; returns the acked message (schema-checked)."""
    ack = await client.call("chat:send", {"conversation_id": conversation_id, "client_id": cid or client_id(), "body": body})
    assert ack["ok"] is True, ack
    valid(SendAck, ack)
    return ack["message"]


def error_code(ack: dict) -> str:
    valid(ErrorAck, ack)
    assert ack["ok"] is False
    return ack["error"]["code"]


def messages_for(client: RecordingClient, conversation_id: str) -> list[dict]:
    return [valid(MessageOut, m) for m in client.received("chat:message", lambda m: m["conversation_id"] == conversation_id)]
