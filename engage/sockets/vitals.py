"""Vitals over Socket.IO: vitals:submit, vitals:watch / vitals:unwatch, vitals:ack, medication:taken."""

from __future__ import annotations

from typing import Any

import socketio

from engage.actions.medication import check_mark_taken
from engage.actions.medication import dose_out
from engage.actions.vital_alerts import check_ack_alert
from engage.actions.vitals import check_submit_readings
from engage.actions.vitals import check_watch_patient
from engage.errors import ApiError
from engage.events.vitals import vitals_room
from engage.lib.validation import parse_model
from engage.sockets.handlers import SocketUser
from engage.sockets.handlers import socket_handler
from schemas.vitals import AckRequest
from schemas.vitals import DoseTakenRequest
from schemas.vitals import WatchRequest


def register(sio: socketio.AsyncServer) -> None:
    handler = socket_handler(sio)

    @sio.on("vitals:submit")
    @handler
    async def submit(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        result = await check_submit_readings(user.user_id, user.role, [data])
        item = result.results[0]
        if item.status == "invalid":
            err = item.error
            raise ApiError(422, err.code, err.message, field=err.field, details=err.details)
        return {"status": item.status, "id": item.id}

    @sio.on("vitals:watch")
    @handler
    async def watch(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(WatchRequest, data)
        snapshot = await check_watch_patient(user.user_id, user.role, request.patient_id)
        await sio.enter_room(sid, vitals_room(request.patient_id))
        return snapshot

    @sio.on("vitals:unwatch")
    @handler
    async def unwatch(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(WatchRequest, data)
        await sio.leave_room(sid, vitals_room(request.patient_id))
        return {}

    @sio.on("vitals:ack")
    @handler
    async def ack(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(AckRequest, data)
        alert = await check_ack_alert(user.user_id, user.role, request.alert_id, request.snooze_minutes)
        return {"alert": alert.model_dump(mode="json")}

    @sio.on("medication:taken")
    @handler
    async def taken(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(DoseTakenRequest, data if data is not None else {})
        dose = await check_mark_taken(user.user_id, user.role, request.dose_id, request.prescription_id, "socket")
        return {"dose": dose_out(dose).model_dump(mode="json")}
