"""Sessions: an access token and every socket it opened live only as long as their session.

A session is a refresh-token family (one per login). Its id is in every access token ("fam").
Redis holds, per session, the sockets it opened on any web process, and the ids of ended
sessions for as long as their access tokens could still be valid, so that one EXISTS per
request refuses them. Ending a session (logout, a replayed refresh token, and later password
change or deactivation) goes through do_end_session, which disconnects its sockets on every
web process through python-socketio's Redis manager.

A socket also ends when its access token expires, unless the client sends a fresh token of the
same session (auth:refresh) after the auth:expiring warning: SocketDeadlines, one task per web
process, watches the expiries of that process's sockets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import socketio
from beanie import PydanticObjectId

from engage import extensions
from engage.config import Settings
from engage.config import get_settings
from engage.errors import ApiError
from engage.lib.tokens import AccessClaims
from engage.lib.tokens import InvalidToken
from engage.lib.tokens import decode_access_token
from engage.lib.users import access_user
from engage.models.auth import RefreshTokenFamily
from engage.models.user import User
from schemas.sessions import AuthExpiringEvent

log = logging.getLogger(__name__)

REVOKED_KEY = "engage:session:revoked:{}"  # exists while the ended session's access tokens could be valid
SOCKETS_KEY = "engage:session:sockets:{}"  # the sids the session's sockets have (any web process)


def invalid_token() -> ApiError:
    return ApiError(401, "invalid_token", "The access token is invalid or expired.")


async def access_session_user(token: str) -> tuple[User, AccessClaims]:
    """The user of a valid access token whose session has not ended; 401 invalid_token otherwise."""
    claims = _valid_claims(token)
    if await extensions.redis_client().exists(REVOKED_KEY.format(claims.family_id)):
        raise invalid_token()
    return await _token_user(claims), claims


async def access_socket_user(token: str) -> tuple[User, AccessClaims]:
    """The user of a valid access token, for a socket connecting: whether its session has ended is
    do_bind_socket's to check, in the round trip that records the socket."""
    claims = _valid_claims(token)
    return await _token_user(claims), claims


def _valid_claims(token: str) -> AccessClaims:
    try:
        return decode_access_token(get_settings().secret_key or "", token)
    except InvalidToken:
        raise invalid_token() from None


async def _token_user(claims: AccessClaims) -> User:
    try:
        return await access_user(claims.user_id)
    except ApiError:
        raise invalid_token() from None


# KEYS: the session's sockets, its ended marker; ARGV: the sid, the sockets key's lifetime (s).
BIND_SOCKET_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""


async def do_bind_socket(family_id: str, sid: str) -> bool:
    """Record a socket under its session; False (and not recorded) when the session has ended.

    One script, so the check and the record are one step: do_end_session marks the session ended
    and then reads its sockets, so either this sees the mark or that reads this socket. (A script
    is one reply to parse where MULTI was five, on every connect of a reconnect storm.)"""
    bind = extensions.redis_client().register_script(BIND_SOCKET_SCRIPT)
    bound = await bind(keys=[SOCKETS_KEY.format(family_id), REVOKED_KEY.format(family_id)], args=[sid, get_settings().refresh_token_ttl_seconds])
    return bool(bound)


async def do_unbind_socket(family_id: str, sid: str) -> None:
    """A socket went away."""
    await extensions.redis_client().srem(SOCKETS_KEY.format(family_id), sid)


async def _disconnect_everywhere(sid: str) -> None:
    emitter = extensions.emitter()
    if isinstance(emitter, socketio.AsyncServer):
        # A sid on another process: python-socketio's Redis manager forwards the disconnect.
        await emitter.disconnect(sid)
    else:
        # A worker's write-only manager owns no sockets, so it publishes the request to all.
        await emitter.can_disconnect(sid, "/")


async def do_end_session(family_id: str, reason: str) -> int:
    """End one session: revoke its refresh token, refuse its access tokens, disconnect its sockets
    on every web process. Returns how many sockets were told to go."""
    settings = get_settings()
    await RefreshTokenFamily.get_pymongo_collection().update_one(
        {"family_id": family_id, "revoked": False}, {"$set": {"revoked": True, "revoked_reason": reason}}
    )
    redis = extensions.redis_client()
    # An access token of this session lives at most the access TTL (re-issued ones even less).
    await redis.set(REVOKED_KEY.format(family_id), reason, ex=settings.access_token_ttl_seconds + 60)
    key = SOCKETS_KEY.format(family_id)
    sids = [raw.decode() if isinstance(raw, bytes) else raw for raw in await redis.smembers(key)]
    await redis.delete(key)
    for sid in sids:
        await _disconnect_everywhere(sid)
    log.info("session %s ended (%s); %d sockets disconnected", family_id, reason, len(sids))
    return len(sids)


async def do_end_user_sessions(user_id: str, reason: str) -> int:
    """End every session of a user (password change, deactivation). Returns how many."""
    families = await RefreshTokenFamily.get_pymongo_collection().find(
        {"user_id": PydanticObjectId(str(user_id)), "revoked": False}, {"family_id": 1}
    ).to_list()
    for family in families:
        await do_end_session(family["family_id"], reason)
    return len(families)


async def check_socket_refresh(user_id: str, family_id: str, token: str) -> AccessClaims:
    """A fresh access token for a socket: it must be valid, of the same user and the same session."""
    _, claims = await access_session_user(token)
    if claims.user_id != user_id or claims.family_id != family_id:
        raise invalid_token()
    return claims


@dataclass(slots=True)  # one per socket
class _Deadline:
    expires_at: int
    warn_at: float
    warned: bool = False


class SocketDeadlines:
    """This process's sockets by access-token expiry: warned ahead (auth:expiring), disconnected at
    expiry. One task scans them all; a task per socket would cost more than the sockets."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        self.deadlines: dict[str, _Deadline] = {}

    def track(self, sid: str, claims: AccessClaims, warning_seconds: float) -> None:
        # Warn `warning_seconds` ahead, but never in the first half of a short-lived token's life.
        lead = min(warning_seconds, (claims.expires_at - claims.issued_at) / 2)
        self.deadlines[sid] = _Deadline(claims.expires_at, claims.expires_at - lead)

    def forget(self, sid: str) -> None:
        self.deadlines.pop(sid, None)

    async def check(self, now: float) -> None:
        """Disconnect the expired sockets and warn the ones about to expire."""
        for sid, deadline in list(self.deadlines.items()):
            if deadline.expires_at <= now:
                self.forget(sid)
                # Local sockets only: every process runs its own scan.
                await self.sio.disconnect(sid, ignore_queue=True)
            elif not deadline.warned and deadline.warn_at <= now:
                deadline.warned = True
                event = AuthExpiringEvent(expires_at=deadline.expires_at)
                await self.sio.emit("auth:expiring", event.model_dump(mode="json"), to=sid, ignore_queue=True)

    async def run_forever(self, settings: Settings) -> None:
        """Serving task of every web process."""
        while True:
            try:
                await self.check(time.time())
            except Exception:
                log.exception("socket expiry scan failed")
            await asyncio.sleep(settings.socket_expiry_scan_seconds)
