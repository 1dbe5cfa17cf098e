"""python-socketio's room bookkeeping, with an index of the rooms each socket is in.

python-socketio 5.x finds the rooms of a disconnecting socket by testing every room of the
namespace (BaseManager.basic_disconnect; get_rooms likewise). Every socket has a room of its
own and Engage adds one per user, so when N sockets drop at once (a proxy restart, a clinic's
Wi-Fi going down) the web process does N x 2N membership tests: 5,000 sockets dropping cost
it 7.6 s of CPU, during which it served nothing else, the reconnects included
(`python -m bench.connect_storm`, "drop and reconnect"). With the index a disconnect costs the
rooms of that socket.

Hooks python-socketio 5.x's basic_* methods (pinned in requirements.txt); the rooms themselves
stay where python-socketio keeps them (self.rooms), so emits and participants are unchanged.
"""

from __future__ import annotations

from typing import Any


class RoomIndexedManager:
    """Mixin for a python-socketio manager class: put it before the manager in the bases."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (namespace, sid) -> the rooms that sid is in; None (every connected sid's room) included.
        self.rooms_of: dict[tuple[str, str], set[Any]] = {}

    def basic_enter_room(self, sid: str, namespace: str, room: Any, eio_sid: str | None = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self.rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        rooms = self.rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self.rooms_of[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        # BaseManager.basic_disconnect with the scan of every room replaced by the index; the rest
        # (callbacks, pending connects and disconnects) as python-socketio 5.18 does it.
        if namespace not in self.rooms:
            return
        for room in list(self.rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)  # the last leave drops the sid's index entry
        if sid in self.callbacks:
            del self.callbacks[sid]
        for pending in (self.pending_connect, self.pending_disconnect):
            if namespace in pending and sid in pending[namespace]:
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self.rooms_of.get((namespace, sid), ()) if room is not None]
