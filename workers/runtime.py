"""The async runtime of one job: a fresh loop with Mongo, Redis and the event emitter."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable
from typing import TypeVar

from engage import extensions
from engage.config import get_settings

T = TypeVar("T")


def run_job(body: Callable[[], Awaitable[T]]) -> T:
    """Run an async job body with the services initialised inside its own event loop.

    RQ runs coroutine jobs in a new loop each time, and pymongo's async client is bound to
    the loop that made it, so every job connects afresh (STACK.md).
    """

    async def main() -> T:
        settings = get_settings()
        await extensions.init_database(settings, create_indexes=False)
        extensions.init_redis(settings)
        manager = extensions.socketio_manager(settings, write_only=True)
        extensions.set_emitter(manager)
        try:
            return await body()
        finally:
            await extensions.close_redis()
            await extensions.close_database()

    return asyncio.run(main())


