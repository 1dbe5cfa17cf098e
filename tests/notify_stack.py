"""Helpers for notification tests: a provider server, Engage processes pointed at it, Redis swaps."""

from __future__ import annotations

import base64
import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from engage import extensions
from engage.config import Settings
from tests.provider_server import ProviderServer
from tests.servers import EngageProcess
from tests.servers import start_engage

TWILIO_SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "twilio-test-auth-token-0123456789"
SMS_FROM = "+15005550006"
PUBLIC_URL = "https://engage.example.org"
EMAIL_FROM = "Engage <no-reply@clinic.example.org>"

SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC_KEY = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


def sendgrid_signature(payload: str, timestamp: str, key: ec.EllipticCurvePrivateKey = SENDGRID_KEY) -> str:
    return base64.b64encode(key.sign((timestamp + payload).encode(), ec.ECDSA(hashes.SHA256()))).decode()


def twilio_signature(path: str, form: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_URL + path, form)


def redis_db_url(redis_url: str, db: int) -> str:
    return redis_url.rsplit("/", 1)[0] + f"/{db}"


def stack_env(base: dict[str, str], provider: ProviderServer, redis_db: int, **extra: str) -> dict[str, str]:
    """Engage env whose providers are the real SDKs pointed at the local provider server.

    A Redis database of its own keeps its queues away from the suite's shared worker.
    """
    env = dict(base)
    env.update(
        {
            "REDIS_URL": redis_db_url(base["REDIS_URL"], redis_db),
            "ENGAGE_SMS_PROVIDER": "twilio",
            "ENGAGE_TWILIO_ACCOUNT_SID": TWILIO_SID,
            "ENGAGE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "ENGAGE_TWILIO_API_URL": provider.url,
            "ENGAGE_SMS_FROM": SMS_FROM,
            "ENGAGE_EMAIL_PROVIDER": "sendgrid",
            "ENGAGE_EMAIL_FROM": EMAIL_FROM,
            "ENGAGE_SENDGRID_API_KEY": "SG.test-key",
            "ENGAGE_SENDGRID_API_URL": provider.url,
            "ENGAGE_SENDGRID_WEBHOOK_PUBLIC_KEY": SENDGRID_PUBLIC_KEY,
            "ENGAGE_PUBLIC_URL": PUBLIC_URL,
            "ENGAGE_CLINIC_CONTACT": "Call North Clinic on +1 415 555 0100.",
            "ENGAGE_NOTIFICATION_RETRY_BASE_SECONDS": "0.3",
            "ENGAGE_NOTIFICATION_MAX_ATTEMPTS": "3",
            "ENGAGE_NOTIFICATION_SCAN_SECONDS": "1",
            "ENGAGE_PROVIDER_TIMEOUT_SECONDS": "5",
            "ENGAGE_WORKER_CLASS": "simple",
            "ENGAGE_LOG_LEVEL": "info",
        }
    )
    env.update(extra)
    return env


@dataclass
class Stack:
    provider: ProviderServer
    env: dict[str, str]
    web: EngageProcess
    workers: list[EngageProcess]
    tmp: Path

    def start(self, role: str, **extra: str) -> EngageProcess:
        proc = start_engage(role, {**self.env, **extra}, self.tmp)
        if role == "worker":
            self.workers.append(proc)
        return proc


@contextlib.asynccontextmanager
async def redis_of(settings: Settings, url: str):
    """Point this process's Redis (and so request_notification's enqueueing) at another database for a while."""
    await extensions.close_redis()
    extensions.init_redis(settings.model_copy(update={"redis_url": url}))
    try:
        yield
    finally:
        await extensions.close_redis()
        extensions.init_redis(settings)


def unique_phone() -> str:
    """A valid, random US number (San Francisco area codes with 2xx-9xx exchanges)."""
    n = uuid.uuid4().int
    return f"+1415{200 + n % 800}{(n // 1000) % 10000:04d}"
