"""Chat over Socket.IO: chat:send, chat:typing, chat:read, chat:sync; presence on connect."""

from __future__ import annotations

from typing import Any

import socketio

from engage.actions.conversations import check_mark_read
from engage.actions.messages import check_send_message, check_sync_messages
from engage.actions.presence import (
    do_socket_connected,
    do_socket_disconnected,
)
from engage.actions.typing import (
    check_set_typing,
    stop_typing_of_socket,
)
from engage.lib.validation import parse_model
from engage.sockets.handlers import SocketUser, socket_handler
from schemas.chat import ReadRequest, SendMessageRequest, SyncRequest, TypingRequest


async def on_connect(sio: socketio.AsyncServer, sid: str, user_id: str, role: str) -> None:
    await do_socket_connected(user_id, sid, role)


async def on_disconnect(sio: socketio.AsyncServer, sid: str, user_id: str, role: str) -> None:
    await stop_typing_of_socket(sid)
    await do_socket_disconnected(user_id, sid, role)


def register(sio: socketio.AsyncServer) -> None:
    handler = socket_handler(sio)

    @sio.on("chat:send")
    @handler
    async def chat_send(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(SendMessageRequest, data)
        message, _ = await check_send_message(user.user_id, request.conversation_id, request.client_id, request.body)
        return {"message": message}

    @sio.on("chat:typing")
    @handler
    async def chat_typing(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(TypingRequest, data)
        await check_set_typing(user.user_id, sid, request.conversation_id, request.typing)
        return {}

    @sio.on("chat:read")
    @handler
    async def chat_read(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(ReadRequest, data)
        return {"seq": await check_mark_read(user.user_id, request.conversation_id, request.seq)}

    @sio.on("chat:sync")
    @handler
    async def chat_sync(user: SocketUser, sid: str, data: Any) -> dict[str, Any]:
        request = parse_model(SyncRequest, data)
        messages = await check_sync_messages(user.user_id, request)
        return {"messages": [m.model_dump(mode="json") for m in messages]}
