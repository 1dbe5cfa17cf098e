"""GET /healthz: is everything this web process needs answering?

Checked: MongoDB and Redis answer; this process's Socket.IO Redis listener is subscribed (it
carries other processes' events to this process's sockets, and python-socketio's listener can
die silently); Redis can still persist (its append-only file); and, under the main command, the
embedded servers' data directory can still be written. `down` names each failing part.
"""

from __future__ import annotations

import asyncio

from quart import Blueprint
from quart import current_app

from engage import extensions
from engage.config import get_settings
from engage.embedded import storage_problem

blueprint = Blueprint("health", __name__)

CHECK_TIMEOUT = 2.0

MESSAGES = {
    "mongodb": "mongodb (the database) not answering",
    "redis": "redis not answering",
    "socketio_listener": "socketio_listener: this process is not subscribed to other processes' Socket.IO events",
    "redis_persistence": "redis_persistence: Redis cannot write its append-only file (disk full or read-only?)",
}


async def _mongo_ok() -> bool:
    try:
        await asyncio.wait_for(extensions.mongo().admin.command("ping"), timeout=CHECK_TIMEOUT)
        return True
    except Exception:
        return False


async def _redis_state() -> tuple[bool, bool, list[dict] | None, int | None]:
    """(answers, persists, its pub/sub clients, subscribers of the Socket.IO channel)."""
    redis = extensions.redis_client()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            ok = bool(await redis.ping())
            persistence = await redis.info("persistence")
            clients = await redis.client_list(_type="pubsub")
            ((_, subscribers),) = await redis.pubsub_numsub(extensions.SOCKETIO_CHANNEL)
    except Exception:
        return False, True, None, None
    persists = persistence.get("aof_last_write_status", "ok") == "ok" and persistence.get("rdb_last_bgsave_status", "ok") == "ok"
    return ok, persists, clients, subscribers


def _listener_subscribed(clients: list[dict] | None) -> bool:
    """Is this process's own listener among the channel's subscribers?"""
    manager = current_app.extensions["sio"].manager
    if manager.write_only:
        return True
    name = extensions.listener_client_name(manager)
    return any(c.get("name") == name and int(c.get("sub", 0)) > 0 for c in clients or [])


@blueprint.get("/healthz")
async def healthz():
    data_dir = get_settings().embedded_data_dir
    (mongo_ok, (redis_ok, persists, clients, subscribers), storage) = await asyncio.gather(
        _mongo_ok(),
        _redis_state(),
        asyncio.to_thread(storage_problem, data_dir) if data_dir else asyncio.sleep(0, None),
    )
    checks = {"mongodb": mongo_ok, "redis": redis_ok, "storage": storage is None}
    if redis_ok:  # without Redis, its listener and persistence cannot be told apart from it
        checks |= {"socketio_listener": _listener_subscribed(clients), "redis_persistence": persists}
    down = [name for name, ok in checks.items() if not ok]
    if not down:
        return {"status": "ok"}, 200
    reasons = "; ".join(f"storage: {storage}" if name == "storage" else MESSAGES[name] for name in down)
    return {
        "status": "unavailable",
        "down": down,
        "socketio_subscribers": subscribers,  # every web process should be one: compare with their number
        "error": {"code": "service_unavailable", "message": reasons + "."},
    }, 503
