"""The room index (engage/lib/socket_rooms.py) keeps python-socketio's rooms exactly as the stock
manager does: the same random sequence of connects, room changes and disconnects on both leaves
the same rooms after every step, and a disconnected socket leaves nothing in the index."""

from __future__ import annotations

import random

import pytest
import socketio

from engage.lib.redis_fanout import BatchingRedisManager
from engage.lib.socket_rooms import RoomIndexedManager

NAMESPACES = ("/", "/other")
ROOMS = ("user:a", "user:b", "vitals:p1", "schedule:d1", "conversation:c")


class IndexedManager(RoomIndexedManager, socketio.AsyncManager):
    pass


class Side:
    """One manager under a real python-socketio server, with sockets named by the test."""

    def __init__(self, manager: socketio.AsyncManager) -> None:
        self.server = socketio.AsyncServer(async_mode="asgi", client_manager=manager)
        self.manager = manager
        self.sids: dict[tuple[str, int], str] = {}  # (namespace, socket number) -> its sid here

    def named(self, room: object) -> object:
        """A room with sids replaced by the test's socket names, comparable across managers."""
        for (namespace, number), sid in self.sids.items():
            if room == sid:
                return ("sid room", namespace, number)
        return room

    def snapshot(self) -> dict:
        by_number = {sid: number for (_, number), sid in self.sids.items()}
        return {
            namespace: {self.named(room): sorted(by_number[sid] for sid in members) for room, members in rooms.items()}
            for namespace, rooms in self.manager.rooms.items()
        }

    def rooms_of_each(self) -> dict:
        return {key: sorted(map(str, (self.named(r) for r in self.manager.get_rooms(sid, key[0])))) for key, sid in self.sids.items()}


async def apply(side: Side, op: tuple) -> None:
    kind, namespace, number, room = op
    key = (namespace, number)
    sid = side.sids.get(key)
    if kind == "connect" and sid is None:
        side.sids[key] = await side.manager.connect(f"eio-{number}", namespace)
    elif kind == "enter" and sid is not None:
        await side.manager.enter_room(sid, namespace, room)
    elif kind == "leave" and sid is not None:
        await side.manager.leave_room(sid, namespace, room)
    elif kind == "close":
        await side.manager.close_room(room, namespace)
    elif kind == "disconnect" and sid is not None:
        side.manager.pre_disconnect(sid, namespace)
        await side.manager.disconnect(sid, namespace)
        del side.sids[key]


@pytest.mark.parametrize("seed", range(20))
async def test_the_index_keeps_the_same_rooms_as_python_socketio(seed):
    rng = random.Random(seed)
    stock, indexed = Side(socketio.AsyncManager()), Side(IndexedManager())
    for _ in range(400):
        op = (
            rng.choice(("connect", "connect", "enter", "enter", "enter", "leave", "close", "disconnect")),
            rng.choice(NAMESPACES), rng.randrange(12), rng.choice(ROOMS),
        )
        await apply(stock, op)
        await apply(indexed, op)
        assert indexed.snapshot() == stock.snapshot(), op
        assert indexed.rooms_of_each() == stock.rooms_of_each(), op
    # Nothing kept for sockets that left: the index holds exactly the connected ones.
    assert set(indexed.manager.rooms_of) == {(namespace, sid) for (namespace, _), sid in indexed.sids.items()}


async def test_disconnecting_every_socket_empties_rooms_and_index():
    side = Side(IndexedManager())
    for number in range(200):
        sid = side.sids[("/", number)] = await side.manager.connect(f"eio-{number}", "/")
        await side.manager.enter_room(sid, "/", f"user:{number % 50}")
    for (namespace, _), sid in list(side.sids.items()):
        side.manager.pre_disconnect(sid, namespace)
        await side.manager.disconnect(sid, namespace)
    assert side.manager.rooms == {}
    assert side.manager.rooms_of == {}
    assert side.manager.pending_disconnect == {}


def test_the_web_process_manager_uses_the_index():
    assert issubclass(BatchingRedisManager, RoomIndexedManager)
