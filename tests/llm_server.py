"""A local OpenAI-compatible LLM for tests, and a web process plus worker configured to use it.

Each test module says what its LLM answers (a `reply` function from the request body to the
message content); the server records every request so the test can check exactly what was sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web as aioweb

from engage.embedded import free_port
from tests.clients import Api
from tests.servers import EngageProcess
from tests.servers import start_engage


class RecordingLLM:
    """Chat completions on a free port. Modes: "ok" (answer with `reply`), "error" (500), "slow"
    (held until `release` is set, past any client timeout), "garbage" (content that is not JSON)."""

    def __init__(self, reply: Callable[[dict[str, Any]], str]) -> None:
        self.reply = reply
        self.requests: list[dict] = []
        self.mode = "ok"
        self.port = free_port()
        self.release = asyncio.Event()
        self.runner: aioweb.AppRunner | None = None

    async def completions(self, request: aioweb.Request) -> aioweb.StreamResponse:
        body = await request.json()
        self.requests.append({"path": request.path, "headers": dict(request.headers), "body": body, "raw": json.dumps(body)})
        if self.mode == "error":
            return aioweb.json_response({"error": {"message": "overloaded"}}, status=500)
        if self.mode == "slow":
            await self.release.wait()
        content = "I cannot help." if self.mode == "garbage" else self.reply(body)
        return aioweb.json_response({"id": "cmpl-1", "object": "chat.completion", "model": body.get("model"),
                                     "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})

    async def start(self) -> None:
        app = aioweb.Application()
        app.router.add_post("/v1/chat/completions", self.completions)
        self.runner = aioweb.AppRunner(app)
        await self.runner.setup()
        await aioweb.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self.release.set()
        if self.runner is not None:
            await self.runner.cleanup()


@asynccontextmanager
async def llm_stack(
    reply: Callable[[dict[str, Any]], str], engage_environment: dict[str, str], tmp_root: Path, http_session: aiohttp.ClientSession,
    redis_db: int, timeout_seconds: float,
) -> AsyncIterator[tuple[RecordingLLM, Api, EngageProcess]]:
    """A web process and a worker configured with the recording LLM, on RQ queues of their own
    (Redis database `redis_db`, one per test module, so the suite's worker never takes their jobs)."""
    llm = RecordingLLM(reply)
    await llm.start()
    env = dict(engage_environment)
    env.update({
        "REDIS_URL": env["REDIS_URL"].rsplit("/", 1)[0] + f"/{redis_db}",
        "ENGAGE_LLM_BASE_URL": f"http://127.0.0.1:{llm.port}/v1",
        "ENGAGE_LLM_API_KEY": "test-llm-key",
        "ENGAGE_LLM_MODEL": "test-model",
        "ENGAGE_LLM_TIMEOUT_SECONDS": str(timeout_seconds),
    })
    web_llm = start_engage("web", env, tmp_root)
    worker_llm = start_engage("worker", env, tmp_root)
    try:
        yield llm, Api(http_session, web_llm.url), web_llm
    finally:
        worker_llm.stop()
        web_llm.stop()
        await llm.stop()
