"""Secrets that a notification carries (a sign-in code, a reset link) kept out of the outbox.

The outbox stores a notification's context and, once claimed, its rendered text; both are shown
to admins (GET /api/admin/outbox). So a secret never goes into either: the context holds only a
random reference, the secret itself waits in Redis, encrypted with a key derived from
ENGAGE_SECRET_KEY, for as long as it is valid. The sender renders twice: with the secret for the
provider, and with "[redacted]" for what the outbox records.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken

from engage import extensions
from engage.lib.sealing import sealer

SECRET_KEY = "engage:notification-secret:{}"
SECRET_REF = "secret_ref"  # the context field naming the secret
REDACTED = "[redacted]"


class SecretGone(LookupError):
    """The secret expired (or was never stored): the message must not go out without it."""


def _fernet() -> Fernet:
    return sealer("notification-secrets")


async def do_store_notification_secret(values: dict[str, str], ttl_seconds: int) -> dict[str, str]:
    """Keep secret template values for ttl_seconds; returns the context fields that refer to them."""
    ref = secrets.token_urlsafe(18)
    sealed = _fernet().encrypt(json.dumps(values).encode())
    await extensions.redis_client().set(SECRET_KEY.format(ref), sealed, ex=ttl_seconds)
    return {SECRET_REF: ref}


async def notification_secret_values(context: dict[str, Any]) -> dict[str, str]:
    """The secret values a context refers to ({} when it refers to none); SecretGone when expired."""
    ref = context.get(SECRET_REF)
    if not ref:
        return {}
    sealed = await extensions.redis_client().get(SECRET_KEY.format(ref))
    if sealed is None:
        raise SecretGone("the notification's secret expired")
    try:
        return json.loads(_fernet().decrypt(sealed))
    except InvalidToken:
        raise SecretGone("the notification's secret cannot be read") from None


def redacted(values: dict[str, str]) -> dict[str, str]:
    """The same keys, every value hidden (what the outbox's copy of the text shows)."""
    return {key: REDACTED for key in values}
