"""schedule:watch / schedule:unwatch: follow one doctor's (or test centre's) slots live."""

from __future__ import annotations

from typing import Any

import socketio

from engage.events.booking import schedule_room
from engage.lib.booking import access_resource
from engage.lib.validation import parse_model
from engage.sockets.handlers import SocketUser
from engage.sockets.handlers import socket_handler
from schemas.booking import ScheduleWatchRequest


def register(sio: socketio.AsyncServer) -> None:
    handler = socket_handler(sio)

    @sio.on("schedule:watch")
    @handler
    async def schedule_watch(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(ScheduleWatchRequest, data)
        resource = await access_resource(request.doctor_id, request.test_centre_id)
        await sio.enter_room(sid, schedule_room(str(resource.id)))
        return {"room": schedule_room(str(resource.id)), "timezone": resource.timezone}

    @sio.on("schedule:unwatch")
    @handler
    async def schedule_unwatch(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(ScheduleWatchRequest, data)
        await sio.leave_room(sid, schedule_room(request.doctor_id or request.test_centre_id or ""))
        return {}
