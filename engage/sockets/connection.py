"""Connect, disconnect and auth:refresh: a socket is its user's for as long as its session and
access token last (engage.actions.sessions)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError

from engage.actions.sessions import SocketDeadlines
from engage.actions.sessions import access_socket_user
from engage.actions.sessions import check_socket_refresh
from engage.actions.sessions import do_bind_socket
from engage.actions.sessions import do_unbind_socket
from engage.config import get_settings
from engage.errors import ApiError
from engage.events import user_room
from engage.lib.users import check_may_act
from engage.logs import log_context
from engage.lib.validation import parse_model
from engage.sockets.handlers import SocketUser
from engage.sockets.handlers import socket_handler
from schemas.sessions import AuthRefreshRequest

log = logging.getLogger(__name__)

# A capability's reaction to a socket of a user connecting or disconnecting: (sio, sid, user_id, role).
ConnectionHook = Callable[[socketio.AsyncServer, str, str, str], Awaitable[None]]


def register(
    sio: socketio.AsyncServer,
    deadlines: SocketDeadlines,
    on_connect: tuple[ConnectionHook, ...],
    on_disconnect: tuple[ConnectionHook, ...],
) -> None:
    handler = socket_handler(sio)

    @sio.event
    async def connect(sid: str, environ: dict, auth: Any) -> None:
        log_context.set({"socket_id": sid})
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            # The user is read: a doctor whose approval was withdrawn (or anyone who may no longer
            # act) is refused even with a token that is still valid.
            user, claims = await access_socket_user(token)
            check_may_act(user)
        except ApiError:
            raise ConnectionRefusedError("unauthorized") from None
        # Binding the socket also checks, in the same round trip, that the session has not ended.
        if not await do_bind_socket(claims.family_id, sid):
            raise ConnectionRefusedError("unauthorized")
        await sio.save_session(sid, {"user_id": str(user.id), "role": user.role.value, "family_id": claims.family_id, "expires_at": claims.expires_at})
        deadlines.track(sid, claims, get_settings().access_token_warning_seconds)
        await sio.enter_room(sid, user_room(claims.user_id))
        for hook in on_connect:
            await hook(sio, sid, claims.user_id, claims.role)

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        log_context.set({"socket_id": sid})
        deadlines.forget(sid)
        try:
            session = await sio.get_session(sid)
        except KeyError:
            return
        if "family_id" not in session:
            return  # refused at connect
        try:
            await do_unbind_socket(session["family_id"], sid)
        except Exception:
            log.exception("forgetting a socket of a session failed")
        for hook in on_disconnect:
            try:
                await hook(sio, sid, session["user_id"], session["role"])
            except Exception:
                log.exception("disconnect hook failed")

    @sio.on("auth:refresh")
    @handler
    async def auth_refresh(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(AuthRefreshRequest, data)
        claims = await check_socket_refresh(user.user_id, user.family_id, request.token)
        async with sio.session(sid) as session:
            extended = claims.expires_at > session["expires_at"]
            if extended:
                session["expires_at"] = claims.expires_at
            expires_at = session["expires_at"]
        if extended:
            deadlines.track(sid, claims, get_settings().access_token_warning_seconds)
        return {"expires_at": expires_at}
