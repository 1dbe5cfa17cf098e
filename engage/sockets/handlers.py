"""What every socket handler shares: the connected user, and turning results into acks."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import socketio

from engage.errors import ApiError
from engage.errors import unavailable_error
from engage.logs import log_context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SocketUser:
    user_id: str
    role: str
    family_id: str  # the session (refresh-token family) that opened the socket


async def socket_user(sio: socketio.AsyncServer, sid: str) -> SocketUser:
    session = await sio.get_session(sid)
    # The expiry scan disconnects an expired socket within a moment; until then it may do nothing.
    if session["expires_at"] <= time.time():
        raise ApiError(401, "invalid_token", "The access token of this connection expired; send auth:refresh or reconnect.")
    return SocketUser(user_id=session["user_id"], role=session["role"], family_id=session["family_id"])


Handler = Callable[[SocketUser, str, Any], Awaitable[dict[str, Any] | None]]


def socket_handler(sio: socketio.AsyncServer) -> Callable[[Handler], Callable[[str, Any], Awaitable[dict[str, Any]]]]:
    """Wrap a handler(user, sid, data) so errors become {"ok": false, "error": {...}} acks."""

    def wrap(handler: Handler) -> Callable[[str, Any], Awaitable[dict[str, Any]]]:
        @functools.wraps(handler)
        async def run(sid: str, data: Any = None) -> dict[str, Any]:
            log_context.set({"socket_id": sid})  # on every line this event logs (each event runs in its own task)
            try:
                user = await socket_user(sio, sid)
                result = await handler(user, sid, data)
            except ApiError as exc:
                return exc.to_ack()
            except Exception as exc:
                outage = unavailable_error(exc)  # the database or Redis is restarting: ask to retry
                if outage is not None:
                    log.warning("socket handler %s: %s", handler.__name__, outage.message)
                    return outage.to_ack()
                log.exception("socket handler %s failed", handler.__name__)
                return {"ok": False, "error": {"code": "internal_error", "message": "Something went wrong on the server."}}
            return {"ok": True, **(result or {})}

        return run

    return wrap
