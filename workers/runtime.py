"""The async runtime of a worker process: one event loop with Mongo, Redis and the event emitter.

Built once per process, at its first job, and reused by every job after: pymongo's async client
(and redis.asyncio's pool) belong to the loop that made them, so the loop lives as long as they do
rather than one asyncio.run per job. A forked work horse (RQ's default Worker) builds its
own: the parent's loop and clients must not be used across a fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from typing import TypeVar

from engage import extensions
from engage.config import Settings
from engage.config import get_settings
from engage.integrations.notification_providers import NotificationProvider
from engage.integrations.provider_choice import providers_for

T = TypeVar("T")


@dataclass
class _Runtime:
    pid: int
    loop: asyncio.AbstractEventLoop
    providers: dict[str, NotificationProvider] = field(default_factory=dict)


_runtime: _Runtime | None = None


def _start(settings: Settings) -> _Runtime:
    loop = asyncio.new_event_loop()
    # The notification SDKs block: as many threads as sends in flight, plus room for other to_thread calls.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=settings.notification_concurrency + 8, thread_name_prefix="engage-job"))

    async def connect() -> None:
        await extensions.init_database(settings, create_indexes=False)
        extensions.init_redis(settings)
        extensions.set_emitter(extensions.socketio_manager(settings, write_only=True))

    loop.run_until_complete(connect())
    return _Runtime(os.getpid(), loop)


def run_job(body: Callable[[], Awaitable[T]]) -> T:
    """Run an async job body on this process's loop, connecting at the first job."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid():
        _runtime = _start(get_settings())
    loop = _runtime.loop
    task = asyncio.ensure_future(body(), loop=loop)
    try:
        return loop.run_until_complete(task)
    finally:
        if not task.done():  # interrupted (RQ's job timeout): it must not run on during the next job
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)


def notification_providers() -> dict[str, NotificationProvider]:
    """This process's email and SMS providers, built at the first send job and kept for the next.

    One SDK client per provider, so its HTTP connections stay open from one job to the next.
    Called from a job body (inside run_job).
    """
    assert _runtime is not None and _runtime.pid == os.getpid(), "notification_providers() outside run_job"
    if not _runtime.providers:
        _runtime.providers = providers_for(get_settings())
    return _runtime.providers


def stop_runtime() -> None:
    """Close the connections and the loop (a forking worker's parent, before it forks work horses)."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid():
        _runtime = None
        return
    loop = _runtime.loop
    providers = _runtime.providers
    _runtime = None

    async def disconnect() -> None:
        for provider in providers.values():
            await provider.close()
        await extensions.close_redis()
        await extensions.close_database()

    try:
        loop.run_until_complete(disconnect())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
