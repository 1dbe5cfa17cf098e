"""The one way tests wait for a state another process reaches on its own (no fixed sleeps)."""

from __future__ import annotations

import asyncio
import inspect
import time


async def wait_until(predicate, timeout: float = 20.0, what: str = "condition"):
    """Poll `predicate` (plain or async) until it returns something truthy, and return that;
    fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} not reached within {timeout:g} s"
        await asyncio.sleep(0.05)
