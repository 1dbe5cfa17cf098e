"""The one path out to sockets: publish_event() and the room names.

Web processes emit through their Socket.IO server, workers through a write-only Redis
manager; either way the Redis pub/sub carries the event to every web process.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from pydantic import BaseModel

from engage import extensions
from engage.lib.redis_fanout import BatchingRedisManager

log = logging.getLogger(__name__)


def user_room(user_id: str) -> str:
    """Every socket of one user joins this room."""
    return f"user:{user_id}"


def _emit_args(payload: BaseModel | dict[str, Any], rooms: list[str]) -> tuple[dict[str, Any], str | list[str]]:
    """JSON-ready data and the room argument python-socketio takes (one room or a list)."""
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    room_list = list(dict.fromkeys(rooms))
    return data, room_list if len(room_list) > 1 else room_list[0]


async def publish_event(event: str, payload: BaseModel | dict[str, Any], rooms: str | list[str], skip_sid: str | None = None) -> None:
    """Emit one event to one or more rooms; call only after the write it announces succeeded."""
    room_list = [rooms] if isinstance(rooms, str) else rooms
    if not room_list:
        return
    data, room = _emit_args(payload, room_list)
    await extensions.emitter().emit(event, data, room=room, skip_sid=skip_sid)


async def publish_many(events: list[tuple[str, BaseModel | dict[str, Any], list[str]]]) -> None:
    """Emit (event, payload, user ids) in order, as one Redis publish for the whole burst."""
    emitter = extensions.emitter()
    # Web processes and workers both get a BatchingRedisManager from extensions.socketio_manager.
    manager: BatchingRedisManager = emitter.manager if isinstance(emitter, socketio.AsyncServer) else emitter
    await manager.emit_many([(event, *_emit_args(payload, [user_room(uid) for uid in user_ids])) for event, payload, user_ids in events])


async def publish_to_users(event: str, payload: BaseModel | dict[str, Any], user_ids: list[str], skip_sid: str | None = None) -> None:
    """Emit one event to every socket of each user."""
    await publish_event(event, payload, [user_room(uid) for uid in user_ids], skip_sid=skip_sid)


async def remove_user_from_room(user_id: str, room: str) -> None:
    """Every socket of the user, on every process, leaves the room (an access that ended)."""
    emitter = extensions.emitter()
    manager: BatchingRedisManager = emitter.manager if isinstance(emitter, socketio.AsyncServer) else emitter
    await manager.leave_room_for_members(user_room(user_id), room)
