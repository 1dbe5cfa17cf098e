"""A local HTTP server that stands in for Twilio's and SendGrid's APIs and records every request.

The real SDKs talk to it (Twilio through a base-URL-rewriting http client, SendGrid with host=).
It runs its own event loop in a thread, so a test can hold a request open while it kills a worker.
Scripted answers per recipient let tests produce 429/5xx/4xx responses.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any

from aiohttp import web

from engage.embedded import free_port


@dataclass
class Recorded:
    provider: str  # "twilio" | "sendgrid"
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    json: Any = None
    status: int = 0
    at: float = 0.0

    @property
    def to(self) -> str:
        if self.provider == "twilio":
            return self.form.get("To", "")
        return self.json["personalizations"][0]["to"][0]["email"]

    @property
    def notification_id(self) -> str | None:
        if self.provider == "sendgrid":
            return (self.json.get("custom_args") or {}).get("notification_id")
        return None


class ProviderServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Recorded] = []
        self.scripts: dict[str, list[tuple[int, dict]]] = defaultdict(list)  # recipient -> answers to give next
        self.held: set[str] = set()  # recipients whose requests wait for release()
        self.twilio_accepted: list[dict] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- control from tests -------------------------------------------------------------
    def script(self, recipient: str, *answers: tuple[int, dict]) -> None:
        """The next requests to this recipient get these (status, json body) answers, in order."""
        with self._lock:
            self.scripts[recipient].extend(answers)

    def hold(self, recipient: str) -> None:
        with self._lock:
            self.held.add(recipient)

    def release(self) -> None:
        with self._lock:
            self.held.clear()
        if self._loop and self._release:
            self._loop.call_soon_threadsafe(self._release.set)

    def sent_to(self, recipient: str, provider: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.to == recipient and (provider is None or r.provider == provider)]

    def posts(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    # --- handlers -----------------------------------------------------------------------
    def _next_answer(self, recipient: str) -> tuple[int, dict] | None:
        with self._lock:
            queue = self.scripts.get(recipient)
            return queue.pop(0) if queue else None

    async def _maybe_hold(self, recipient: str) -> None:
        while True:
            with self._lock:
                holding = recipient in self.held
            if not holding:
                return
            self._release.clear()
            await self._release.wait()

    async def twilio_create(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        rec = Recorded("twilio", "POST", request.path, dict(request.headers), form=form, at=time.time())
        with self._lock:
            self.requests.append(rec)  # recorded on arrival, like a real provider that accepted it
        answer = self._next_answer(form.get("To", ""))
        status, body = answer if answer else (201, {})
        if status == 201:
            now = email.utils.format_datetime(datetime.now(UTC))
            body = {
                "sid": "SM" + uuid.uuid4().hex,
                "account_sid": request.match_info["sid"],
                "to": form.get("To"),
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form.get("Body"),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "date_created": now,
                "date_updated": now,
                "date_sent": None,
                "error_code": None,
                "error_message": None,
                "uri": f"{request.path[:-5]}/x.json",
            }
            with self._lock:
                self.twilio_accepted.append(body)
        rec.status = status
        await self._maybe_hold(form.get("To", ""))
        return web.json_response(body, status=status)

    async def twilio_list(self, request: web.Request) -> web.Response:
        to = request.query.get("To")
        with self._lock:
            self.requests.append(Recorded("twilio", "GET", request.path_qs, dict(request.headers), at=time.time()))
            found = [m for m in self.twilio_accepted if to is None or m["to"] == to]
        return web.json_response(
            {"messages": list(reversed(found)), "next_page_uri": None, "previous_page_uri": None, "first_page_uri": request.path_qs, "uri": request.path_qs,
             "page": 0, "page_size": 200, "start": 0, "end": len(found)}
        )

    async def sendgrid_send(self, request: web.Request) -> web.Response:
        payload = await request.json()
        rec = Recorded("sendgrid", "POST", request.path, dict(request.headers), json=payload, at=time.time())
        with self._lock:
            self.requests.append(rec)
        answer = self._next_answer(rec.to)
        status, body = answer if answer else (202, None)
        rec.status = status
        await self._maybe_hold(rec.to)
        if status == 202:
            return web.Response(status=202, headers={"X-Message-Id": base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")})
        return web.json_response(body or {"errors": [{"message": "scripted"}]}, status=status)

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> ProviderServer:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._release = asyncio.Event()
            app = web.Application()
            app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.twilio_create)
            app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", self.twilio_list)
            app.router.add_post("/v3/mail/send", self.sendgrid_send)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="provider-server")
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop:
            self.release()
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(5)


def counts_by(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for value in values:
        out[value] += 1
    return dict(out)


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)
