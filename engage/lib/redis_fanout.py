"""python-socketio's Redis manager, plus emit_many: many events, one Redis publish.

The stock manager publishes one pub/sub message per emit and awaits it, so a burst of chat
messages costs a Redis round trip (and a pickle on every process) each. emit_many delivers
a burst to this process's sockets, then sends the whole burst to the other processes as one
message that they deliver the same way.

Delivery to local sockets encodes each event once and queues it on each recipient's
Engine.IO socket in list order. The stock emit spends a task per recipient and a wait per
event on the same work, which under load costs more than the rest of a chat message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import engineio
import socketio
from socketio import packet

from engage.lib.socket_rooms import RoomIndexedManager

BATCH_KEY = "engage_batch"
MEMBERS_KEY = "engage_members_of"


# observer(event, JSON-ready data, room or rooms): called for every emit this process delivers.
EmitObserver = Callable[[str, Any, Any], None]


class BatchingRedisManager(RoomIndexedManager, socketio.AsyncRedisManager):
    emit_observers: tuple[EmitObserver, ...] = ()

    def observe_emits(self, *observers: EmitObserver) -> None:
        """Let process-local readers (the availability view, the chat writer) see every event emitted
        here or on another process; the web process names them all in one call."""
        self.emit_observers = observers

    def _observe(self, event: str, data: Any, room: Any) -> None:
        for observer in self.emit_observers:
            observer(event, data, room)

    async def emit_many(self, emits: list[tuple[str, Any, str | list[str]]], namespace: str = "/") -> None:
        """Emit (event, JSON-ready data, room or rooms) in order, to every process, with one publish."""
        if not emits:
            return
        batch = [{"event": event, "data": data, "room": room, "namespace": namespace} for event, data, room in emits]
        if not self.write_only and self.server is not None:
            await self._emit_here(batch)
        await self._publish({"method": "emit", BATCH_KEY: batch, "host_id": self.host_id})

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        batch = message.get(BATCH_KEY)
        if batch is None:
            data = message.get("data")
            self._observe(message["event"], data[0] if isinstance(data, list) and len(data) == 1 else data, message.get("room"))
            await super()._handle_emit(message)
        else:
            await self._emit_here(batch)

    async def leave_room_for_members(self, members_of: str, room: str, namespace: str = "/") -> None:
        """Every socket in room `members_of` leaves `room`, on every process (python-socketio's
        leave_room takes one sid, and only its own process knows which sids a room holds)."""
        message = {"method": "leave_room", MEMBERS_KEY: members_of, "room": room, "namespace": namespace, "host_id": self.host_id}
        if not self.write_only and self.server is not None:
            await self._leave_here(message)
        await self._publish(message)

    async def _handle_leave_room(self, message: dict[str, Any]) -> None:
        if MEMBERS_KEY in message:
            await self._leave_here(message)
        else:
            await super()._handle_leave_room(message)

    async def _leave_here(self, message: dict[str, Any]) -> None:
        namespace = message["namespace"]
        if namespace not in self.rooms:
            return
        for sid, _eio_sid in list(self.get_participants(namespace, message[MEMBERS_KEY])):
            self.basic_leave_room(sid, namespace, message["room"])

    async def _emit_here(self, batch: list[dict[str, Any]]) -> None:
        for item in batch:
            self._observe(item["event"], item["data"], item["room"])
            namespace = item["namespace"]
            if namespace not in self.rooms:
                continue
            # JSON-ready data is never binary: binary=False skips the per-packet scan for bytes.
            encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[item["event"], item["data"]], binary=False).encode()
            eio_packet = engineio.packet.Packet(engineio.packet.MESSAGE, encoded)
            for _sid, eio_sid in self.get_participants(namespace, item["room"]):
                try:
                    await self.server.eio.send_packet(eio_sid, eio_packet)
                except engineio.exceptions.SocketIsClosedError:
                    pass  # it disconnected meanwhile; its events are for chat:sync now
