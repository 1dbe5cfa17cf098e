"""JWTs (PyJWT, HS256): short-lived access tokens and rotating refresh tokens.

Both carry the session (refresh-token family) id as "fam": an access token is only as good as
its session, so ending the session refuses its access tokens and disconnects their sockets.
Issuing is deterministic for a given issue time, which lets a refresh repeated within the
grace window get exactly the pair the first one got.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import jwt

ALGORITHM = "HS256"
ISSUER = "engage"


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    family_id: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class RefreshClaims:
    user_id: str
    family_id: str
    jti: str


class InvalidToken(Exception):
    pass


def new_id() -> str:
    return secrets.token_urlsafe(16)


def issue_access_token(secret: str, user_id: str, role: str, family_id: str, issued_at: int, ttl_seconds: int) -> str:
    claims = {"sub": user_id, "role": role, "fam": family_id, "typ": "access", "iss": ISSUER, "iat": issued_at, "exp": issued_at + ttl_seconds}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def issue_refresh_token(secret: str, user_id: str, family_id: str, jti: str, issued_at: int, expires_at: datetime) -> str:
    claims = {"sub": user_id, "fam": family_id, "jti": jti, "typ": "refresh", "iss": ISSUER, "iat": issued_at, "exp": expires_at}
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
    # A token that names no session could never be ended by a logout: not ours.
    if not claims.get("fam") or not isinstance(claims.get("iat"), int):
        raise InvalidToken("access token without a session")
    return AccessClaims(
        user_id=str(claims["sub"]), role=str(claims.get("role", "")), family_id=str(claims["fam"]),
        issued_at=int(claims["iat"]), expires_at=int(claims["exp"]),
    )


def decode_refresh_token(secret: str, token: str) -> RefreshClaims:
    claims = _decode(secret, token, "refresh")
    if not claims.get("fam") or not claims.get("jti"):
        raise InvalidToken("incomplete refresh token")
    return RefreshClaims(user_id=str(claims["sub"]), family_id=str(claims["fam"]), jti=str(claims["jti"]))
