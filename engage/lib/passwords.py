"""Password hashing (argon2id through argon2-cffi) and the strength rule."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

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


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
