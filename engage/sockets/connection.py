"""Connect and disconnect: authenticate with the access token, join the user's room."""

from __future__ import annotations

import logging
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError

from engage.config import get_settings
from engage.events import user_room
from engage.lib.tokens import InvalidToken
from engage.lib.tokens import decode_access_token
from engage.lib.users import access_user
from engage.errors import ApiError

log = logging.getLogger(__name__)

# Capabilities hook in here to react to connects/disconnects (presence, typing expiry).
connect_hooks: list = []
disconnect_hooks: list = []


def register(sio: socketio.AsyncServer) -> None:
    @sio.event
    async def connect(sid: str, environ: dict, auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        settings = get_settings()
        try:
            claims = decode_access_token(settings.secret_key or "", token)
            user = await access_user(claims.user_id)
        except (InvalidToken, ApiError):
            raise ConnectionRefusedError("unauthorized") from None
        await sio.save_session(sid, {"user_id": str(user.id), "role": user.role.value})
        await sio.enter_room(sid, user_room(str(user.id)))
        for hook in connect_hooks:
            await hook(sio, sid, str(user.id), user.role.value)

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        try:
            session = await sio.get_session(sid)
        except KeyError:
            return
        for hook in disconnect_hooks:
            try:
                await hook(sio, sid, session["user_id"], session["role"])
            except Exception:
                log.exception("disconnect hook failed")
