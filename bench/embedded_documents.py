"""For benchmarks that call Engage's read paths in-process: the embedded database with Beanie."""

from __future__ import annotations

import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from beanie import init_beanie
from pymongo import AsyncMongoClient

from engage.embedded import start_mongo
from engage.models import DOCUMENT_MODELS


@asynccontextmanager
async def embedded_documents(name: str) -> AsyncIterator[AsyncMongoClient]:
    """A fresh on-disk embedded database (as `python app.py` runs it), Beanie bound to it."""
    server = start_mongo(Path(tempfile.mkdtemp(prefix=f"engage-bench-{name}-")) / "mongo")
    client: AsyncMongoClient = AsyncMongoClient(server.url, tz_aware=True)
    try:
        await init_beanie(database=client["engage_bench"], document_models=DOCUMENT_MODELS)
        yield client
    finally:
        await client.close()
        server.stop()


async def best_of(runs: int, call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """The shortest of `runs` timed calls in milliseconds, and the last call's result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await call()
        times.append(time.perf_counter() - started)
    return min(times) * 1000, result
