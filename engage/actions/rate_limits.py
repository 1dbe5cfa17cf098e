"""Per-user rate limits in Redis, shared by every web process.

Checks made at the same moment are sent together in one pipeline (one round trip for all of
them): under load a check per message would otherwise cost more than storing the message.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import itertools
import logging
import time
import uuid

from redis.exceptions import NoScriptError

from engage import extensions
from engage.config import get_settings

log = logging.getLogger(__name__)

# A sliding log: the timestamps of accepted hits in a sorted set, trimmed to the window.
# Refused hits are not recorded, so a client that keeps retrying is let in as soon as the
# oldest hit leaves the window. One call takes all of a key's hits of the moment (ARGV[4] is
# their count) and returns how many of them fit.
_SLIDING_LOG = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local hits = tonumber(ARGV[4])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
local allowed = math.min(hits, limit - redis.call('zcard', KEYS[1]))
if allowed <= 0 then
  return 0
end
for i = 1, allowed do
  redis.call('zadd', KEYS[1], now, ARGV[5] .. ':' .. i)
end
redis.call('pexpire', KEYS[1], math.ceil(window * 1000))
return allowed
"""
_SLIDING_LOG_SHA = hashlib.sha1(_SLIDING_LOG.encode()).hexdigest()
# Members of the sorted sets must be unique across processes and calls.
_MEMBER_PREFIX = uuid.uuid4().hex
_member_counter = itertools.count()


class _Batcher:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.pending: list[tuple[str, float, int, asyncio.Future]] = []
        self.wakeup = asyncio.Event()
        self.task = self.loop.create_task(self._run(), name="engage-rate-limits")

    async def _run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.pending:
                batch, self.pending = self.pending, []
                # A burst from one user is one script call; its first `allowed` hits pass, in order.
                by_key: dict[str, list[tuple[float, int, asyncio.Future]]] = {}
                for key, window, limit, future in batch:
                    by_key.setdefault(key, []).append((window, limit, future))
                try:
                    replies = await self._call_script(by_key)
                    for hits, allowed in zip(by_key.values(), replies, strict=True):
                        for index, (_, _, future) in enumerate(hits):
                            if not future.done():
                                future.set_result(index < int(allowed))
                except Exception as exc:
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)

    async def _call_script(self, by_key: dict[str, list[tuple[float, int, asyncio.Future]]]) -> list[int]:
        # EVALSHA straight away: redis-py's Script objects ask SCRIPT EXISTS before every
        # pipeline, a second round trip per batch. The script is loaded when Redis lacks it.
        redis = extensions.redis_client()
        now = time.time()

        async def evalsha_all() -> list[int]:
            async with redis.pipeline(transaction=False) as pipe:
                for key, hits in by_key.items():
                    window, limit, _ = hits[0]
                    pipe.evalsha(_SLIDING_LOG_SHA, 1, key, now, window, limit, len(hits), f"{_MEMBER_PREFIX}:{next(_member_counter)}")
                return await pipe.execute()

        try:
            return await evalsha_all()
        except NoScriptError:
            await redis.script_load(_SLIDING_LOG)
            return await evalsha_all()


_batcher: _Batcher | None = None


async def hit_rate_limit(name: str, user_id: str, limit: int, window_seconds: float) -> bool:
    """Record one hit; False when the user already made `limit` hits in the window."""
    global _batcher
    if _batcher is None or _batcher.loop is not asyncio.get_running_loop() or _batcher.task.done():
        _batcher = _Batcher()
    future = _batcher.loop.create_future()
    _batcher.pending.append((f"engage:rate:{name}:{user_id}", window_seconds, limit, future))
    _batcher.wakeup.set()
    return await future


# Per-user limits of socket events, as (hits, seconds), shared by the user's sockets on every
# web process; ENGAGE_SOCKET_EVENT_LIMITS overrides them. Events not named get the default.
SOCKET_EVENT_LIMITS: dict[str, tuple[int, float]] = {
    "chat:typing": (20, 10),  # a browser sends one every 3 s while typing, plus the stops
    "chat:read": (120, 10),
    "chat:sync": (120, 10),  # catch-up after a reconnect pages through what was missed
    "schedule:watch": (30, 60),
    "schedule:unwatch": (30, 60),
    "vitals:submit": (60, 60),  # one reading each; a device with a backlog posts it to /api/vitals
    "vitals:watch": (30, 60),
    "vitals:unwatch": (30, 60),
    "vitals:ack": (30, 60),
    "medication:taken": (30, 60),
    # Every socket of a user refreshes when their token nears its end, all in the same minute: a
    # user with many tabs and devices (the soak's 20 sockets an account) must not lose the 11th.
    "auth:refresh": (100, 60),
}
DEFAULT_SOCKET_EVENT_LIMIT = (60, 10)
# chat:send is limited by its action (ENGAGE_CHAT_RATE_LIMIT): a retry of a message that was
# stored must still get the original back, over the limit or not.
LIMITED_BY_THEIR_ACTION = frozenset({"chat:send"})


@functools.lru_cache(maxsize=8)
def _overrides(setting: str) -> dict[str, tuple[int, float]]:
    overrides: dict[str, tuple[int, float]] = {}
    for part in setting.split(","):
        if part.strip():
            event, _, rate = part.strip().partition("=")
            hits, _, seconds = rate.partition("/")
            overrides[event.strip()] = (int(hits), float(seconds))
    return overrides


def socket_event_limit(event: str) -> tuple[int, float] | None:
    """(hits, seconds) allowed per user for a socket event, or None when its action limits it."""
    if event in LIMITED_BY_THEIR_ACTION:
        return None
    overrides = _overrides(get_settings().socket_event_limits)
    return overrides.get(event) or SOCKET_EVENT_LIMITS.get(event) or DEFAULT_SOCKET_EVENT_LIMIT


async def hit_socket_event_limit(event: str, user_id: str) -> float | None:
    """Count one socket event of a user: None when within its limit, else the seconds to wait."""
    limit = socket_event_limit(event)
    if limit is None:
        return None
    hits, seconds = limit
    if await hit_rate_limit(f"socket:{event}", user_id, hits, seconds):
        return None
    return seconds
