"""Real clients for tests: an HTTP API client and Socket.IO clients that record events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
from engineio.payload import Payload

# A browser's socket.io-client reads any number of packets from one polling response; the
# Python client refuses more than 16 unless told, which would abort it under a burst.
Payload.max_decode_packets = 1000


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None


class Api:
    """A thin aiohttp client for Engage's JSON API."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def request(self, method: str, path: str, json: Any = None, token: str | None = None, data: Any = None,
                      headers: dict[str, str] | None = None, params: dict | None = None) -> Response:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(method, self.base_url + path, json=json, data=data, headers=headers, params=params) as resp:
            try:
                body = await resp.json(content_type=None)
            except Exception:
                body = await resp.text(errors="replace")  # a binary body (a downloaded document)
            return Response(resp.status, body, dict(resp.headers))

    async def get(self, path: str, **kw: Any) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Response:
        return await self.request("POST", path, json=json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Response:
        return await self.request("PUT", path, json=json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> Response:
        return await self.request("PATCH", path, json=json, **kw)


@dataclass
class Account:
    """A registered, logged-in user."""

    id: str
    email: str
    password: str
    role: str
    name: str
    access_token: str
    refresh_token: str
    user: dict


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


class RecordingClient:
    """A python-socketio AsyncClient that records every event it receives."""

    def __init__(self, transport: str) -> None:
        self.transport = transport
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()

        @self.sio.on("*")
        async def any_event(event: str, data: Any = None) -> None:
            self.events.append((event, data))
            self._changed.set()

    async def connect(self, url: str, token: str | None) -> None:
        auth = {"token": token} if token is not None else None
        await self.sio.connect(url, auth=auth, transports=[self.transport], wait_timeout=10)

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        return await self.sio.call(event, data, timeout=timeout)

    async def emit(self, event: str, data: Any = None) -> None:
        await self.sio.emit(event, data)

    def received(self, event: str, predicate: Callable[[Any], bool] | None = None) -> list[Any]:
        return [data for name, data in self.events if name == event and (predicate is None or predicate(data))]

    async def wait_for(self, event: str, predicate: Callable[[Any], bool] | None = None, timeout: float = 10) -> Any:
        """The first matching event (already received or arriving within the timeout)."""

        async def wait() -> Any:
            while True:
                found = self.received(event, predicate)
                if found:
                    return found[0]
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def close(self) -> None:
        if self.sio.connected:
            if self.transport == "polling":
                await self.sio.eio.disconnect(abort=True)
                # keep the client's own state consistent after an abort
                await self.sio.disconnect()
            else:
                await self.sio.disconnect()
