"""Socket.IO: the server, authentication on connect, and the wiring of every socket module.

Each capability module defines register(sio); build_socketio_server wires them, their
connect/disconnect reactions and their serving tasks in one place.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from engineio.payload import Payload
from socketio import packet

from engage import extensions
from engage.actions.presence import presence_heartbeat_forever
from engage.actions.rate_limits import hit_socket_event_limit
from engage.actions.sessions import SocketDeadlines
from engage.actions.typing import sweep_typing_forever
from engage.config import Settings
from engage.lib import socket_json
from engage.errors import ApiError
from engage.errors import forbidden
from engage.policy import RESERVED_EVENTS
from engage.policy import NoPolicy
from engage.policy import event_rule
from engage.sockets import booking
from engage.sockets import chat
from engage.sockets import connection
from engage.sockets import vitals

log = logging.getLogger(__name__)


class EngageSocketServer(socketio.AsyncServer):
    """python-socketio's server with two checks before any event handler runs.

    - A client's event named like a lifecycle handler (connect, disconnect, connect_error) is
      refused: python-socketio would dispatch it to that handler, letting a client re-run
      connect with another user's token or "disconnect" while connected. Logged once a socket.
    - The event's rule in engage.policy must admit the user's role (the object-level part of the
      rule is the action's to check); an event the table does not name is refused.
    - Every event counts against the user's per-event limit (engage.actions.rate_limits),
      shared by the user's sockets on every process; past it the ack is rate_limited.

    All hook python-socketio 5.x's packet dispatch (_handle_event, _handle_event_internal).
    """

    # Coroutine functions taking the settings that the web process runs while it serves.
    serving_tasks: tuple = ()

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: list) -> None:
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            # No event name: a malformed packet (one line, like engage.lib.protocol_logging's).
            log.warning("malformed packet from a client: an event without a name: %.200r", data)
            return
        if data[0] in RESERVED_EVENTS:
            await self._refuse_reserved(eio_sid, namespace or "/", id, str(data[0]))
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_event_internal(self, server: socketio.AsyncServer, sid: str, eio_sid: str, data: list, namespace: str, id: int | None) -> None:
        event = data[0]
        if event in self.handlers.get(namespace, {}):  # unknown events are ignored anyway
            try:
                session = await self.get_session(sid, namespace)
            except KeyError:
                return  # it disconnected meanwhile
            refusal = event_refusal(event, session.get("role"))
            if refusal is not None:
                await self._ack(eio_sid, namespace, id, refusal.to_ack())
                return
            retry_after = await hit_socket_event_limit(event, session["user_id"]) if "user_id" in session else None
            if retry_after is not None:
                await self._ack(eio_sid, namespace, id, {
                    "ok": False,
                    "error": {"code": "rate_limited", "message": f"Too many {event} events; wait a little.", "retry_after": retry_after},
                    "retry_after": retry_after,
                })
                return
        await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)

    async def _refuse_reserved(self, eio_sid: str, namespace: str, id: int | None, event: str) -> None:
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            return
        async with self.session(sid, namespace) as session:
            if not session.get("reserved_event_logged"):
                session["reserved_event_logged"] = True
                log.warning("socket %s (user %s) sent the reserved event name %r; ignored (logged once per socket)", sid, session.get("user_id"), event)
        await self._ack(eio_sid, namespace, id, {
            "ok": False, "error": {"code": "reserved_event", "message": f"'{event}' is reserved by Socket.IO and cannot be sent as an event."},
        })

    async def _ack(self, eio_sid: str, namespace: str, id: int | None, body: dict[str, Any]) -> None:
        if id is not None:
            await self._send_packet(eio_sid, self.packet_class(packet.ACK, namespace=namespace, id=id, data=[body]))

def event_refusal(event: str, role: str | None) -> ApiError | None:
    """Why engage.policy refuses this event to this role, or None."""
    try:
        spec = event_rule(event)
    except NoPolicy:
        log.error("socket event %s has no access rule in engage.policy; refused", event)
        return ApiError(403, "no_policy", "This event declares no access rule.")
    if spec.roles is not None and role not in spec.roles:
        return forbidden()
    return None


def build_socketio_server(settings: Settings) -> EngageSocketServer:
    """The server with every socket module's handlers; its serving_tasks are the web process's to run."""
    # python-engineio keeps this limit on the class only; a web process serves one server.
    Payload.max_decode_packets = settings.polling_max_packets
    sio = EngageSocketServer(
        async_mode="asgi",
        client_manager=extensions.socketio_manager(settings),
        json=socket_json,
        cors_allowed_origins=settings.cors_origin_list or None,
        ping_interval=settings.ping_interval,
        ping_timeout=settings.ping_timeout,
        max_http_buffer_size=settings.max_body_bytes,
        # python-engineio gzips every polling response of 1 KB or more at level 9 (GzipFile's
        # default; it has no level option), on the event loop: under chat load, when packets queue
        # up between polls, that is 0.1-0.3 ms of CPU per response for a few hundred bytes saved
        # on JSON a proxy could compress anyway. Websockets never used it (issue 22, "Polling").
        http_compression=False,
        logger=False,
        engineio_logger=False,
    )
    deadlines = SocketDeadlines(sio)
    connection.register(
        sio,
        deadlines,
        on_connect=(chat.on_connect,),  # presence (engage.actions.presence): the one record of who is online
        on_disconnect=(chat.on_disconnect,),
    )
    chat.register(sio)
    booking.register(sio)
    vitals.register(sio)
    sio.serving_tasks = (deadlines.run_forever, sweep_typing_forever, presence_heartbeat_forever)
    return sio
