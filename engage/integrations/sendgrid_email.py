"""Email through SendGrid's official SDK (blocking; run in threads)."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
from datetime import datetime

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg
from sendgrid.helpers.mail import Mail

from engage.config import Settings
from engage.integrations.notification_providers import OutgoingMessage
from engage.integrations.notification_providers import TransientProviderError
from engage.integrations.notification_providers import error_for_status


class SendGridEmail:
    name = "sendgrid"

    def __init__(self, settings: Settings) -> None:
        if not settings.sendgrid_api_key:
            raise RuntimeError("ENGAGE_SENDGRID_API_KEY is required for ENGAGE_EMAIL_PROVIDER=sendgrid")
        self.client = SendGridAPIClient(settings.sendgrid_api_key, host=settings.sendgrid_api_url.rstrip("/"))
        self.client.client.timeout = settings.provider_timeout_seconds
        self.sender = settings.email_from

    def _send(self, message: OutgoingMessage) -> str:
        mail = Mail(from_email=self.sender, to_emails=message.to, subject=message.subject, plain_text_content=message.text, html_content=message.html)
        # Lets the event webhook name the notification even before we stored SendGrid's id.
        mail.custom_arg = CustomArg("notification_id", message.notification_id)
        try:
            response = self.client.send(mail)
        except HTTPError as exc:
            raise error_for_status(exc.status_code, f"sendgrid {exc.status_code}: {exc.body[:200] if exc.body else ''}") from None
        except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError) as exc:
            raise TransientProviderError(f"sendgrid unreachable: {type(exc).__name__}") from None
        return response.headers.get("X-Message-Id") or f"sendgrid-{message.notification_id}"

    async def send(self, message: OutgoingMessage) -> str:
        return await asyncio.to_thread(self._send, message)

    async def find_sent(self, message: OutgoingMessage, since: datetime) -> str | None:
        # SendGrid's activity search is a paid add-on: no lookup, so a message cut off mid-call is sent again.
        raise NotImplementedError

    async def close(self) -> None:
        return None
