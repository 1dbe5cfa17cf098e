"""GET /healthz: are Mongo and Redis answering?"""

from __future__ import annotations

import asyncio

from quart import Blueprint

from engage import extensions

blueprint = Blueprint("health", __name__)


async def _mongo_ok() -> bool:
    try:
        await asyncio.wait_for(extensions.mongo().admin.command("ping"), timeout=2)
        return True
    except Exception:
        return False


async def _redis_ok() -> bool:
    try:
        return bool(await asyncio.wait_for(extensions.redis_client().ping(), timeout=2))
    except Exception:
        return False


@blueprint.get("/healthz")
async def healthz():
    mongo_ok, redis_ok = await asyncio.gather(_mongo_ok(), _redis_ok())
    if mongo_ok and redis_ok:
        return {"status": "ok"}, 200
    down = [name for name, ok in (("mongodb", mongo_ok), ("redis", redis_ok)) if not ok]
    return {
        "status": "unavailable",
        "down": down,
        "error": {"code": "service_unavailable", "message": f"{' and '.join(down)} not answering."},
    }, 503
