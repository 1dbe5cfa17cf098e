"""Per-user rate limits in Redis, shared by every web process."""

from __future__ import annotations

import time
import uuid

from engage import extensions

# A sliding log: the timestamps of accepted hits in a sorted set, trimmed to the window.
# Refused hits are not recorded, so a client that keeps retrying is let in as soon as the
# oldest hit leaves the window.
_SLIDING_LOG = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
if redis.call('zcard', KEYS[1]) >= limit then
  return 0
end
redis.call('zadd', KEYS[1], now, ARGV[4])
redis.call('pexpire', KEYS[1], math.ceil(window * 1000))
return 1
"""


async def hit_rate_limit(name: str, user_id: str, limit: int, window_seconds: float) -> bool:
    """Record one hit; False when the user already made `limit` hits in the window."""
    script = extensions.redis_client().register_script(_SLIDING_LOG)  # EVALSHA: the body is not resent
    allowed = await script(keys=[f"engage:rate:{name}:{user_id}"], args=[time.time(), window_seconds, limit, uuid.uuid4().hex])
    return bool(allowed)
