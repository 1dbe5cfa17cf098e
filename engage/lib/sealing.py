"""Symmetric sealing of small secrets that must be read back (a TOTP secret, a code on its way out),
with a key derived from ENGAGE_SECRET_KEY per purpose: one leaked purpose key opens nothing else."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet

from engage.config import get_settings


@lru_cache(maxsize=8)
def _fernet(purpose: str, secret_key: str) -> Fernet:
    key = hashlib.sha256(f"engage-{purpose}:".encode() + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def sealer(purpose: str) -> Fernet:
    """The Fernet of this purpose (its encrypt/decrypt authenticate too)."""
    return _fernet(purpose, get_settings().secret_key or "")
