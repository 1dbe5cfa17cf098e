"""SMS through Twilio's official SDK (blocking; run in threads)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from datetime import timedelta

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from engage.config import Settings
from engage.integrations.notification_providers import OutgoingMessage
from engage.integrations.notification_providers import PermanentProviderError
from engage.integrations.notification_providers import TransientProviderError
from engage.integrations.notification_providers import error_for_status

TWILIO_API = "https://api.twilio.com"

# The SDK logs every request and its headers at INFO; keep that out of the worker's log.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


class RebasedTwilioHttpClient(TwilioHttpClient):
    """Twilio's HTTP client with api.twilio.com rewritten to another base URL (a local server in tests)."""

    def __init__(self, base_url: str, timeout: float, pool_size: int) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        # The SDK keeps min(32, cores + 4) connections (6 here) for https only: with more sends in
        # flight, urllib3 drops the extra connections after each request and the next send opens
        # (and for https, handshakes) a new one. Keep one per send in flight, on either scheme.
        for scheme in ("https://", "http://"):
            self.session.mount(scheme, HTTPAdapter(pool_connections=1, pool_maxsize=pool_size))

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False):
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, params=params, data=data, headers=headers, auth=auth, timeout=timeout, allow_redirects=allow_redirects)


def twilio_client(settings: Settings) -> Client:
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise RuntimeError("ENGAGE_TWILIO_ACCOUNT_SID and ENGAGE_TWILIO_AUTH_TOKEN are required for ENGAGE_SMS_PROVIDER=twilio")
    http = RebasedTwilioHttpClient(settings.twilio_api_url, settings.provider_timeout_seconds, settings.notification_concurrency)
    return Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http)


class TwilioSms:
    name = "twilio"

    def __init__(self, settings: Settings) -> None:
        if not settings.sms_from:
            raise RuntimeError("ENGAGE_SMS_FROM (a Twilio number or messaging service sid) is required for Twilio")
        self.client = twilio_client(settings)
        # The SDK imports its API modules at first use: do it here, once, rather than in the first
        # job's sends, which otherwise queue on Python's import lock.
        self.messages = self.client.messages
        self.sender = settings.sms_from
        self.status_callback = f"{settings.public_url.rstrip('/')}/webhooks/twilio/status" if settings.public_url else None

    def _send(self, message: OutgoingMessage) -> str:
        kwargs: dict = {"to": message.to, "body": message.text}
        if self.sender.startswith("MG"):
            kwargs["messaging_service_sid"] = self.sender
        else:
            kwargs["from_"] = self.sender
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            return self.messages.create(**kwargs).sid
        except TwilioRestException as exc:
            raise error_for_status(exc.status, f"twilio {exc.status} {exc.code}: {exc.msg}", exc.code) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientProviderError(f"twilio unreachable: {type(exc).__name__}") from None

    async def send(self, message: OutgoingMessage) -> str:
        return await asyncio.to_thread(self._send, message)

    def _find_sent(self, message: OutgoingMessage, since: datetime) -> str | None:
        try:
            # Twilio filters by day; compare bodies and creation time ourselves.
            found = self.messages.list(to=message.to, date_sent_after=since - timedelta(days=1), limit=200)
        except TwilioRestException as exc:
            raise error_for_status(exc.status, f"twilio lookup {exc.status}: {exc.msg}", exc.code) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TransientProviderError(f"twilio unreachable: {type(exc).__name__}") from None
        for item in found:
            created = item.date_created
            if item.body == message.text and (created is None or created >= since - timedelta(seconds=5)):
                return item.sid
        return None

    async def find_sent(self, message: OutgoingMessage, since: datetime) -> str | None:
        return await asyncio.to_thread(self._find_sent, message, since)

    async def close(self) -> None:
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()


__all__ = ["TwilioSms", "RebasedTwilioHttpClient", "twilio_client", "PermanentProviderError"]
