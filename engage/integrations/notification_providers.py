"""The one small interface every email/SMS provider implements (the choice by settings is
engage.integrations.provider_choice, which imports the adapters that import this).

A provider's `send` raises TransientProviderError (timeouts, 429, 5xx: retried with backoff) or
PermanentProviderError (an invalid number, other 4xx: not retried). `find_sent` looks a message up
at the provider after a worker died mid-call; providers that cannot look up raise NotImplementedError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: str
    channel: str  # "email" | "sms"
    to: str
    subject: str | None
    text: str
    html: str | None


class ProviderError(Exception):
    transient = False

    def __init__(self, message: str, status: int | None = None, code: int | str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class TransientProviderError(ProviderError):
    transient = True


class PermanentProviderError(ProviderError):
    transient = False


def error_for_status(status: int, message: str, code: int | str | None = None) -> ProviderError:
    """429 and 5xx are worth retrying; any other 4xx will fail the same way again."""
    if status == 429 or status >= 500:
        return TransientProviderError(message, status, code)
    return PermanentProviderError(message, status, code)


class NotificationProvider(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> str:
        """Hand the message to the provider; returns the provider's message id."""

    async def find_sent(self, message: OutgoingMessage, since: datetime) -> str | None:
        """The provider's id of this message if the provider already has it, else None."""

    async def close(self) -> None: ...


class OutboxProvider:
    """The embedded default: the rendered message is already stored on the notification; log it."""

    def __init__(self, channel: str) -> None:
        self.name = "outbox"
        self.channel = channel

    async def send(self, message: OutgoingMessage) -> str:
        log.info("outbox %s to %s: %s", message.channel, message.to, message.subject or message.text)
        return f"outbox-{message.notification_id}"

    async def find_sent(self, message: OutgoingMessage, since: datetime) -> str | None:
        return None  # nothing left the building: sending again has no outside effect

    async def close(self) -> None:
        return None
