"""JWTs (PyJWT, HS256): short-lived access tokens and rotating refresh tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "engage"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str


@dataclass(frozen=True)
class RefreshClaims:
    user_id: str
    family_id: str
    jti: str


class InvalidToken(Exception):
    pass


def new_id() -> str:
    return secrets.token_urlsafe(16)


def issue_access_token(secret: str, user_id: str, role: str, ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    claims = {"sub": user_id, "role": role, "typ": "access", "iss": ISSUER, "iat": now, "exp": now + timedelta(seconds=ttl_seconds)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def issue_refresh_token(secret: str, user_id: str, family_id: str, jti: str, expires_at: datetime) -> str:
    claims = {"sub": user_id, "fam": family_id, "jti": jti, "typ": "refresh", "iss": ISSUER, "iat": datetime.now(UTC), "exp": expires_at}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _decode(secret: str, token: str, typ: str) -> dict:
    if not isinstance(token, str) or not token:
        raise InvalidToken("missing token")
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "typ"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("typ") != typ:
        raise InvalidToken("wrong token type")
    return claims


def decode_access_token(secret: str, token: str) -> AccessClaims:
    claims = _decode(secret, token, "access")
    return AccessClaims(user_id=str(claims["sub"]), role=str(claims.get("role", "")))


def decode_refresh_token(secret: str, token: str) -> RefreshClaims:
    claims = _decode(secret, token, "refresh")
    if not claims.get("fam") or not claims.get("jti"):
        raise InvalidToken("incomplete refresh token")
    return RefreshClaims(user_id=str(claims["sub"]), family_id=str(claims["fam"]), jti=str(claims["jti"]))
