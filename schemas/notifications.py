"""Notification requests and responses: preferences, the admin outbox, inbound SMS."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from typing import Literal

from pydantic import BaseModel
from pydantic import Field
from pydantic import StringConstraints
from pydantic import field_validator
from pydantic import model_validator

from schemas.common import FromDocument
from schemas.common import IdOut
from schemas.common import ObjectIdStr
from schemas.common import RequestModel

Channel = Literal["email", "sms"]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class QuietHoursIn(RequestModel):
    start: ClockTime = Field(description="HH:MM, local time in the user's timezone")
    end: ClockTime

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHoursIn:
        if self.start == self.end:
            raise ValueError("quiet hours must start and end at different times")
        return self


class ChannelsIn(RequestModel):
    reminders: list[Channel] | None = None
    messages: list[Channel] | None = None
    alerts: list[Channel] | None = None

    @field_validator("reminders", "messages", "alerts")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("list each channel once")
        return value


class PreferencesIn(RequestModel):
    """PUT /api/me/preferences: fields left out keep their current value; quiet_hours null turns them off."""

    channels: ChannelsIn | None = None
    quiet_hours: QuietHoursIn | None = None
    opted_out: bool | None = None


class QuietHoursOut(BaseModel):
    start: str
    end: str


class PreferencesOut(BaseModel):
    channels: dict[str, list[Channel]]
    quiet_hours: QuietHoursOut | None
    opted_out: bool
    sms_opted_out: bool  # the phone number texted STOP (text START to undo)
    timezone: str


class OutboxQuery(RequestModel):
    status: Literal["queued", "sending", "sent", "delivered", "failed", "suppressed"] | None = None
    kind: Annotated[str, StringConstraints(max_length=64)] | None = None
    recipient: ObjectIdStr | None = None
    limit: int = Field(default=100, ge=1, le=500)


class NotificationOut(FromDocument):
    id: IdOut
    recipient_id: IdOut
    channel: Channel
    kind: str
    status: str
    idempotency_key: str
    critical: bool
    attempts: int
    due_at: datetime
    provider: str | None
    provider_message_id: str | None
    to: str | None
    subject: str | None
    text: str | None
    last_error: str | None
    suppressed_reason: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


class SmsRepliesQuery(RequestModel):
    outcome: Literal["unclear", "handled", "stop", "start", "help", "unknown_sender"] = "unclear"
    limit: int = Field(default=100, ge=1, le=500)


class InboundSmsOut(FromDocument):
    id: IdOut
    from_number: str
    body: str
    user_id: IdOut | None
    outcome: str
    received_at: datetime
