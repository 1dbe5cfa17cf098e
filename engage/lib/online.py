"""Who is online: each user's sockets with a recent heartbeat, across every web process."""

from __future__ import annotations

import time

from engage import extensions

ONLINE_TTL_SECONDS = 90  # a socket unseen this long (its process died) no longer counts
HEARTBEAT_SECONDS = 30


def online_key(user_id: str) -> str:
    return f"engage:online:{user_id}"


async def online_user_ids(user_ids: list[str]) -> set[str]:
    """The subset of these users with at least one live socket."""
    if not user_ids:
        return set()
    since = time.time() - ONLINE_TTL_SECONDS
    async with extensions.redis_client().pipeline(transaction=False) as pipe:
        for uid in user_ids:
            pipe.zcount(online_key(uid), since, "+inf")
        counts = await pipe.execute()
    return {uid for uid, count in zip(user_ids, counts, strict=True) if count}
