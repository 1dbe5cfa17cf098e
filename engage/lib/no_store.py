"""Socket.IO's ASGI app with Cache-Control: no-store on its long-polling answers.

Quart's after_request marks /api/ and /fhir/ answers no-store (engage.web); python-engineio
answers /socket.io/ itself, with no cache header, and a poll carries chat messages and vitals.
"""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

import socketio

NO_STORE = (b"cache-control", b"no-store")


class NoStoreSocketIOApp(socketio.ASGIApp):
    """socketio.ASGIApp whose HTTP answers under the Socket.IO path carry Cache-Control: no-store."""

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.engineio_path):
            await super().__call__(scope, receive, send)
            return

        async def send_no_store(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [header for header in message.get("headers", []) if header[0].lower() != NO_STORE[0]]
                message = {**message, "headers": [*headers, NO_STORE]}
            await send(message)

        await super().__call__(scope, receive, send_no_store)
