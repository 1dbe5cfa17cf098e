"""The notification outbox, notification preferences, SMS opt-outs and inbound SMS replies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from beanie import Document
from beanie import PydanticObjectId
from pydantic import BaseModel
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class NotificationStatus(StrEnum):
    queued = "queued"  # waiting until due_at (also: deferred by quiet hours, or backing off after a transient error)
    sending = "sending"  # claimed by one worker (claim_token) that is calling the provider
    sent = "sent"  # the provider accepted it (provider_message_id)
    delivered = "delivered"  # the provider reported delivery (webhook)
    failed = "failed"  # permanent error, retries exhausted, or a bounce/drop reported later
    suppressed = "suppressed"  # never sent on purpose: opt-out, STOP, cancelled, channel unavailable


class Notification(Document):
    """One message on one channel; (idempotency_key, channel) is unique."""

    recipient_id: PydanticObjectId
    channel: str  # "email" | "sms"
    kind: str
    category: str  # reminders | messages | alerts
    template: str  # "<kind>/<channel>"
    context: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str
    critical: bool = False
    status: NotificationStatus = NotificationStatus.queued
    due_at: datetime = Field(default_factory=utcnow)
    attempts: int = 0
    provider: str | None = None
    provider_message_id: str | None = None
    # What was (or is being) sent, filled when claimed; bodies never carry health details.
    to: str | None = None
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    # The claim: who is calling the provider, until when the claim holds.
    claim_token: str | None = None
    claimed_by: str | None = None  # "host:pid" of the process calling the provider
    claimed_at: datetime | None = None
    lease_until: datetime | None = None
    last_error: str | None = None
    suppressed_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    delivered_at: datetime | None = None

    class Settings:
        name = "notifications"
        indexes = [
            IndexModel([("idempotency_key", ASCENDING), ("channel", ASCENDING)], unique=True, name="key_channel_unique"),
            IndexModel([("status", ASCENDING), ("due_at", ASCENDING)], name="status_due"),
            IndexModel([("recipient_id", ASCENDING), ("created_at", DESCENDING)], name="recipient_created"),
            IndexModel([("provider_message_id", ASCENDING)], name="provider_message_id"),
            IndexModel([("kind", ASCENDING), ("created_at", DESCENDING)], name="kind_created"),
        ]


class QuietHours(BaseModel):
    start: str  # "HH:MM" in the user's timezone
    end: str


class NotificationPreferences(Document):
    """A user's channels per category, quiet hours and global opt-out (absent means defaults)."""

    user_id: PydanticObjectId
    channels: dict[str, list[str]]
    quiet_hours: QuietHours | None = None
    opted_out: bool = False
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "notification_preferences"
        indexes = [IndexModel([("user_id", ASCENDING)], unique=True, name="user_unique")]


class SmsOptOut(Document):
    """A phone number that texted STOP; removed when it texts START."""

    phone: str
    at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "sms_opt_outs"
        indexes = [IndexModel([("phone", ASCENDING)], unique=True, name="phone_unique")]


class InboundSms(Document):
    """One inbound SMS (Twilio MessageSid unique, so a retried webhook is handled once)."""

    message_sid: str
    from_number: str
    body: str
    user_id: PydanticObjectId | None = None
    outcome: str  # stop | start | help | handled | unclear | unknown_sender
    reply: str | None = None
    received_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "inbound_sms"
        indexes = [
            IndexModel([("message_sid", ASCENDING)], unique=True, name="sid_unique"),
            IndexModel([("outcome", ASCENDING), ("received_at", DESCENDING)], name="outcome_received"),
        ]
