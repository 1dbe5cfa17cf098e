"""GET /healthz names what is down."""

from __future__ import annotations

import aiohttp

from engage.embedded import start_mongo
from engage.embedded import start_redis
from tests.servers import engage_env
from tests.servers import start_engage


async def test_healthz_ok_when_both_answer(api):
    resp = await api.get("/healthz")
    assert resp.status == 200
    assert resp.body == {"status": "ok"}


async def _health(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.get(url + "/healthz") as resp:
        return resp.status, await resp.json()


async def test_healthz_names_redis_when_it_is_down(services, tmp_root):
    redis = start_redis(tmp_root / "redis-doomed")
    web = start_engage("web", engage_env(services["mongodb_url"], redis.url), tmp_root)
    try:
        assert (await _health(web.url))[0] == 200
        redis.stop()
        status, body = await _health(web.url)
        assert status == 503
        assert body["down"] == ["redis"]
        assert "redis" in body["error"]["message"]
    finally:
        web.kill()
        redis.stop()


async def test_healthz_names_mongodb_when_it_is_down(services, tmp_root):
    mongo = start_mongo(":memory:")
    web = start_engage("web", engage_env(mongo.url, services["redis_url"]), tmp_root)
    try:
        assert (await _health(web.url))[0] == 200
        mongo.stop()
        status, body = await _health(web.url)
        assert status == 503
        assert body["down"] == ["mongodb"]
    finally:
        web.kill()
        mongo.stop()
