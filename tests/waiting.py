"""Waiting for a state another process reaches on its own (no fixed sleeps)."""

from __future__ import annotations

import asyncio
import time


async def wait_until(predicate, timeout: float = 20.0):
    """Poll an async predicate until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)
