"""Who is online: the one answer chat, vitals alerts, advice and the assistant all use.

A user is online while they have a socket on a web process that is alive. engage.actions.presence
keeps, in Redis, each user's set of "<process>|<sid>" sockets, and each web process refreshes its
alive key every HEARTBEAT_SECONDS; the key lives ALIVE_SECONDS, so a process that dies (SIGKILL,
a lost machine) stops counting within ALIVE_SECONDS. Readers check the alive key themselves, so a
dead process's sockets do not count even before another process has cleaned them up.
"""

from __future__ import annotations

from engage import extensions

PRESENCE_KEY = "engage:presence:user:{}"  # set of "<process>|<sid>" while the user has sockets
PROCESSES_KEY = "engage:presence:processes"  # web processes that may still hold sockets
PROCESS_USERS_KEY = "engage:presence:process:{}"  # users with a socket on that process
ALIVE_KEY = "engage:presence:alive:{}"  # set while that process beats

HEARTBEAT_SECONDS = 5
# Three missed beats: a process whose event loop stalls for a few seconds under load is not
# declared dead (its users would be announced offline), yet a dead one stops counting in 15 s.
ALIVE_SECONDS = 3 * HEARTBEAT_SECONDS


def socket_member(process_id: str, sid: str) -> str:
    """How a socket is recorded in its user's presence set."""
    return f"{process_id}|{sid}"


def member_process(member: bytes | str) -> str:
    """The web process of a presence-set member."""
    text = member.decode() if isinstance(member, bytes) else member
    return text.split("|", 1)[0]


async def online_user_ids(user_ids: list[str]) -> set[str]:
    """The subset of these users with at least one socket on a live web process."""
    if not user_ids:
        return set()
    redis = extensions.redis_client()
    async with redis.pipeline(transaction=False) as pipe:
        for uid in user_ids:
            pipe.smembers(PRESENCE_KEY.format(uid))
        memberships = await pipe.execute()
    processes_of = {uid: {member_process(m) for m in members} for uid, members in zip(user_ids, memberships, strict=True) if members}
    processes = sorted(set().union(*processes_of.values()))
    if not processes:
        return set()
    async with redis.pipeline(transaction=False) as pipe:
        for process in processes:
            pipe.exists(ALIVE_KEY.format(process))
        alive = {process for process, found in zip(processes, await pipe.execute(), strict=True) if found}
    return {uid for uid, theirs in processes_of.items() if theirs & alive}
