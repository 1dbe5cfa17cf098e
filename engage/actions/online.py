"""Recording which sockets are connected, with a heartbeat so a dead process's sockets expire."""

from __future__ import annotations

import asyncio
import logging
import time

from engage import extensions
from engage.config import Settings
from engage.lib.online import HEARTBEAT_SECONDS
from engage.lib.online import ONLINE_TTL_SECONDS
from engage.lib.online import online_key

log = logging.getLogger(__name__)

_local_sockets: dict[str, str] = {}  # sid -> user id, sockets of this process


async def mark_socket_online(sio, sid: str, user_id: str, role: str) -> None:  # noqa: ARG001
    """Connect hook: this socket counts as the user being online."""
    _local_sockets[sid] = user_id
    redis = extensions.redis_client()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(online_key(user_id), {sid: time.time()})
        pipe.expire(online_key(user_id), ONLINE_TTL_SECONDS * 2)
        await pipe.execute()


async def mark_socket_offline(sio, sid: str, user_id: str, role: str) -> None:  # noqa: ARG001
    """Disconnect hook."""
    _local_sockets.pop(sid, None)
    await extensions.redis_client().zrem(online_key(user_id), sid)


async def heartbeat_forever(settings: Settings) -> None:  # noqa: ARG001
    """Serving task: refresh this process's sockets so they keep counting as online."""
    from quart import current_app

    stopping = current_app.shutdown_event  # set by Quart at shutdown: end at once, do not hold it up
    while not stopping.is_set():
        try:
            await asyncio.wait_for(stopping.wait(), HEARTBEAT_SECONDS)
            return
        except TimeoutError:
            pass
        try:
            now = time.time()
            async with extensions.redis_client().pipeline(transaction=False) as pipe:
                for sid, user_id in list(_local_sockets.items()):
                    pipe.zadd(online_key(user_id), {sid: now})
                    pipe.expire(online_key(user_id), ONLINE_TTL_SECONDS * 2)
                    pipe.zremrangebyscore(online_key(user_id), "-inf", now - ONLINE_TTL_SECONDS)
                await pipe.execute()
        except Exception:
            log.exception("online heartbeat failed")
