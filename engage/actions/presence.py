"""Presence: a user is online while any of their sockets on a live web process is connected.

Redis holds, per user, the set of "<process>|<sid>" sockets (keys and timings in
engage.lib.presence, which answers who is online). Adding the first or removing the last
socket (atomically, in one Lua script) is the transition that gets announced. Each web process beats
every HEARTBEAT_SECONDS, keeping its alive key for ALIVE_SECONDS; when a process dies without
its disconnects running, the next beat of another process after that key expired removes the
dead process's sockets and announces "offline" (so within ALIVE_SECONDS + HEARTBEAT_SECONDS).
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
from engage.lib.conversations import contact_ids
from engage.lib.presence import ALIVE_KEY
from engage.lib.presence import ALIVE_SECONDS
from engage.lib.presence import HEARTBEAT_SECONDS
from engage.lib.presence import PRESENCE_KEY
from engage.lib.presence import PROCESS_USERS_KEY
from engage.lib.presence import PROCESSES_KEY
from engage.lib.presence import socket_member
from schemas.chat import PresenceEvent

log = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
_local_sockets: dict[str, str] = {}  # sid -> user id, the sockets of this process


def local_user_ids(user_ids: list[str] | set[str]) -> set[str]:
    """The subset of these users with a socket on this web process (which is alive: it asks)."""
    here = set(_local_sockets.values())
    return {uid for uid in user_ids if uid in here}


async def _announce(user_id: str, status: str, role: str | None) -> None:
    contacts = await contact_ids(user_id, role)
    if contacts:
        await publish_to_users("presence", PresenceEvent(user_id=user_id, status=status), contacts)


# Scripts rather than MULTI: one reply to parse instead of one per command plus MULTI and EXEC,
# on every connect and disconnect of a reconnect storm.
# KEYS: the user's sockets, this process's users; ARGV: the socket member, the user id.
ADD_SOCKET_SCRIPT = """
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return {added, redis.call('SCARD', KEYS[1])}
"""
# KEYS: the user's sockets; ARGV: the socket members to remove.
REMOVE_SOCKETS_SCRIPT = """
local removed = redis.call('SREM', KEYS[1], unpack(ARGV))
return {removed, redis.call('SCARD', KEYS[1])}
"""


async def do_socket_connected(user_id: str, sid: str, role: str | None = None) -> bool:
    """Record a socket; announce "online" when it is the user's first. True if announced."""
    _local_sockets[sid] = user_id
    add = extensions.redis_client().register_script(ADD_SOCKET_SCRIPT)
    added, count = await add(keys=[PRESENCE_KEY.format(user_id), PROCESS_USERS_KEY.format(PROCESS_ID)], args=[socket_member(PROCESS_ID, sid), user_id])
    if added and count == 1:
        await _announce(user_id, "online", role)
        return True
    return False


async def do_socket_disconnected(user_id: str, sid: str, role: str | None = None) -> bool:
    """Forget a socket; announce "offline" when it was the user's last. True if announced."""
    _local_sockets.pop(sid, None)
    return await _remove_sockets(user_id, [socket_member(PROCESS_ID, sid)], role)


async def _remove_sockets(user_id: str, members: list[str], role: str | None = None) -> bool:
    if not members:
        return False
    remove = extensions.redis_client().register_script(REMOVE_SOCKETS_SCRIPT)
    removed, count = await remove(keys=[PRESENCE_KEY.format(user_id)], args=members)
    if removed and count == 0:
        await _announce(user_id, "offline", role)
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
        prefix = socket_member(process, "")
        for raw_user in await redis.smembers(PROCESS_USERS_KEY.format(process)):
            user_id = raw_user.decode() if isinstance(raw_user, bytes) else raw_user
            members = [m.decode() if isinstance(m, bytes) else m for m in await redis.smembers(PRESENCE_KEY.format(user_id))]
            await _remove_sockets(user_id, [m for m in members if m.startswith(prefix)])
        await redis.delete(PROCESS_USERS_KEY.format(process))
    return forgotten


async def presence_heartbeat_forever(settings: Settings) -> None:
    """Serving task of every web process: keep this process marked alive, clean up dead ones."""
    redis = extensions.redis_client()
    beats = 0
    restore_beats = 0
    while True:
        try:
            await redis.set(ALIVE_KEY.format(PROCESS_ID), "1", ex=ALIVE_SECONDS)
            if await redis.sadd(PROCESSES_KEY, PROCESS_ID) and beats:
                # Taken for dead while stalled (a blocked loop, a paused VM): another process removed
                # our sockets, which are still connected. Record them again, on this beat and the
                # next (that cleanup may still have been running).
                log.warning("presence: this process was taken for dead; recording its %d sockets again", len(_local_sockets))
                restore_beats = 2
            if restore_beats:
                restore_beats -= 1
                await restore_local_sockets()
            beats += 1
            await forget_dead_processes()
        except Exception:
            log.exception("presence heartbeat failed")
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def restore_local_sockets() -> None:
    """Record every socket of this process again (announcing "online" where it is a user's first)."""
    for sid, user_id in list(_local_sockets.items()):
        await do_socket_connected(user_id, sid)
