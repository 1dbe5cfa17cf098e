"""Typing indicators: state in Redis so any web process can expire or clear it.

A sorted set holds "conversation|typer|other" members scored by their expiry time. Every web
process sweeps it; ZREM decides which process announces an expiry, so it is announced once
even with several sweepers, and a typer whose process died still expires.

What the other side is told is throttled: "typing" at most once a second per typer and
conversation (a gate key that SET NX takes for a second), and a stop only after a "typing" it
was told (the announced key, which DEL hands to one caller). A client flooding typing events
thus costs its contact at most a start and a stop per second.
"""

from __future__ import annotations

import asyncio
import logging
import time

from engage import extensions
from engage.config import Settings, get_settings
from engage.events import publish_to_users
from engage.lib.conversations import access_participants, other_participant
from schemas.chat import TypingEvent

log = logging.getLogger(__name__)

TYPING_KEY = "engage:chat:typing"
SOCKET_TYPING_KEY = "engage:chat:typing:sid:{}"  # conversations a socket is typing in
ANNOUNCE_GATE_KEY = "engage:chat:typing:gate:{}"  # held for a second after a "typing" announcement
ANNOUNCED_KEY = "engage:chat:typing:told:{}"  # the other side was told "typing" and not yet the stop
ANNOUNCE_INTERVAL_MS = 1000


def _member(conversation_id: str, user_id: str, other_id: str) -> str:
    return f"{conversation_id}|{user_id}|{other_id}"


async def _announce(conversation_id: str, user_id: str, other_id: str, typing: bool) -> None:
    await publish_to_users("chat:typing", TypingEvent(conversation_id=conversation_id, user_id=user_id, typing=typing), [other_id])


async def _announce_stop(member: str) -> bool:
    """Tell the other side a typer stopped, if it was told they started (once, whoever asks)."""
    if await extensions.redis_client().delete(ANNOUNCED_KEY.format(member)):
        await _announce(*member.split("|"), typing=False)
        return True
    return False


async def check_set_typing(user_id: str, sid: str, conversation_id: str, typing: bool) -> None:
    """Start (or refresh) or stop typing in a conversation; the other participant is told, at
    most once a second."""
    pair = await access_participants(conversation_id, user_id)
    other_id = other_participant(pair, user_id)
    member = _member(conversation_id, user_id, other_id)
    redis = extensions.redis_client()
    ttl = get_settings().typing_ttl
    if typing:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zadd(TYPING_KEY, {member: time.time() + ttl})
            pipe.sadd(SOCKET_TYPING_KEY.format(sid), member)
            pipe.expire(SOCKET_TYPING_KEY.format(sid), int(ttl * 2) + 1)
            pipe.set(ANNOUNCE_GATE_KEY.format(member), 1, px=ANNOUNCE_INTERVAL_MS, nx=True)
            *_, gate = await pipe.execute()
        if gate:
            await redis.set(ANNOUNCED_KEY.format(member), 1, ex=int(ttl * 2) + 1)
            await _announce(conversation_id, user_id, other_id, True)
    elif await redis.zrem(TYPING_KEY, member):
        await _announce_stop(member)


async def stop_typing_of_socket(sid: str) -> None:
    """A socket went away: whatever it was typing stops now."""
    redis = extensions.redis_client()
    key = SOCKET_TYPING_KEY.format(sid)
    members = await redis.smembers(key)
    await redis.delete(key)
    for raw in members:
        member = raw.decode() if isinstance(raw, bytes) else raw
        if await redis.zrem(TYPING_KEY, member):
            await _announce_stop(member)


async def expire_typing(now: float | None = None) -> int:
    """Announce typing: false for every indicator past its expiry; returns how many."""
    redis = extensions.redis_client()
    due = await redis.zrangebyscore(TYPING_KEY, "-inf", now if now is not None else time.time())
    count = 0
    for raw in due:
        member = raw.decode() if isinstance(raw, bytes) else raw
        if await redis.zrem(TYPING_KEY, member) and await _announce_stop(member):  # only one sweeper wins each member
            count += 1
    return count


async def sweep_typing_forever(settings: Settings) -> None:
    """Serving task of every web process: expire typing indicators."""
    interval = min(0.25, settings.typing_ttl / 4)
    while True:
        try:
            await expire_typing()
        except Exception:
            log.exception("typing sweep failed")
        await asyncio.sleep(interval)
