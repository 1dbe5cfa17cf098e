"""Presence: a user is online while any of their sockets on any web process is connected.

Redis holds, per user, the set of "<process>|<sid>" sockets. Adding the first or removing
the last socket (atomically, in MULTI) is the transition that gets announced. Each web
process also keeps a heartbeat key; when a process dies without its disconnects running,
another process notices the missing heartbeat and removes that process's sockets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid

from engage import extensions
from engage.config import Settings
from engage.events import publish_to_users
from engage.lib.conversations import PRESENCE_KEY, contact_ids
from schemas.chat import PresenceEvent

log = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
PROCESSES_KEY = "engage:presence:processes"
PROCESS_USERS_KEY = "engage:presence:process:{}"  # users with a socket on that process
ALIVE_KEY = "engage:presence:alive:{}"
HEARTBEAT_SECONDS = 5
ALIVE_SECONDS = 15


async def _announce(user_id: str, status: str) -> None:
    contacts = await contact_ids(user_id)
    if contacts:
        await publish_to_users("presence", PresenceEvent(user_id=user_id, status=status), contacts)


async def do_socket_connected(user_id: str, sid: str) -> bool:
    """Record a socket; announce "online" when it is the user's first. True if announced."""
    redis = extensions.redis_client()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.sadd(PRESENCE_KEY.format(user_id), f"{PROCESS_ID}|{sid}")
        pipe.scard(PRESENCE_KEY.format(user_id))
        pipe.sadd(PROCESS_USERS_KEY.format(PROCESS_ID), user_id)
        added, count, _ = await pipe.execute()
    if added and count == 1:
        await _announce(user_id, "online")
        return True
    return False


async def do_socket_disconnected(user_id: str, sid: str) -> bool:
    """Forget a socket; announce "offline" when it was the user's last. True if announced."""
    return await _remove_sockets(user_id, [f"{PROCESS_ID}|{sid}"])


async def _remove_sockets(user_id: str, members: list[str]) -> bool:
    if not members:
        return False
    redis = extensions.redis_client()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.srem(PRESENCE_KEY.format(user_id), *members)
        pipe.scard(PRESENCE_KEY.format(user_id))
        removed, count = await pipe.execute()
    if removed and count == 0:
        await _announce(user_id, "offline")
        return True
    return False


async def forget_dead_processes() -> int:
    """Remove the sockets of web processes whose heartbeat stopped; returns how many processes."""
    redis = extensions.redis_client()
    forgotten = 0
    for raw in await redis.smembers(PROCESSES_KEY):
        process = raw.decode() if isinstance(raw, bytes) else raw
        if process == PROCESS_ID or await redis.exists(ALIVE_KEY.format(process)):
            continue
        if not await redis.srem(PROCESSES_KEY, process):
            continue  # another process is cleaning it up
        forgotten += 1
        prefix = f"{process}|"
        for raw_user in await redis.smembers(PROCESS_USERS_KEY.format(process)):
            user_id = raw_user.decode() if isinstance(raw_user, bytes) else raw_user
            members = [m.decode() if isinstance(m, bytes) else m for m in await redis.smembers(PRESENCE_KEY.format(user_id))]
            await _remove_sockets(user_id, [m for m in members if m.startswith(prefix)])
        await redis.delete(PROCESS_USERS_KEY.format(process))
    return forgotten


async def presence_heartbeat_forever(settings: Settings) -> None:
    """Serving task of every web process: keep this process marked alive, clean up dead ones."""
    redis = extensions.redis_client()
    while True:
        try:
            await redis.set(ALIVE_KEY.format(PROCESS_ID), "1", ex=ALIVE_SECONDS)
            await redis.sadd(PROCESSES_KEY, PROCESS_ID)
            await forget_dead_processes()
        except Exception:
            log.exception("presence heartbeat failed")
        await asyncio.sleep(HEARTBEAT_SECONDS)
