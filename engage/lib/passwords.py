"""Password hashing (argon2id through argon2-cffi) and the strength rule.

argon2 is CPU-bound and synchronous: on the event loop a handful of parallel logins stall every
socket of the process. Hashing and verifying run in a small thread pool instead (argon2-cffi
releases the GIL), sized by ENGAGE_PASSWORD_HASH_CONCURRENCY; extra requests wait their turn.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

from engage.config import get_settings

PASSWORD_RULE = "Passwords must be 10 to 128 characters and contain at least one letter and one digit."

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps login time the same either way.
_DUMMY_HASH = _hasher.hash("engage-timing-equaliser-0")


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why a password is too weak, or None when it is acceptable."""
    if not 10 <= len(password) <= 128:
        return PASSWORD_RULE
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        return PASSWORD_RULE
    if email and password.lower() == email.lower():
        return "Passwords must not be the email address. " + PASSWORD_RULE
    return None


_pool: ThreadPoolExecutor | None = None
# Hashing threads yield the CPU to the event loop's thread: on a busy machine a login waits a
# little longer rather than every socket and health check of the process.
HASH_THREAD_NICENESS = 10


def _lower_thread_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS)  # Linux: per thread
    except (AttributeError, OSError):
        pass


def _hashing_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=get_settings().password_hash_concurrency, thread_name_prefix="engage-argon2", initializer=_lower_thread_priority
        )
    return _pool


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    """The argon2id hash of a password, computed off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_hashing_pool(), _hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one argon2 verification, off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(_hashing_pool(), _verify, password_hash, password)
