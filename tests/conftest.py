"""Session fixtures: real servers (secantus, redis-server, Engage's web process) and real clients."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import aiohttp
import pytest

from engage import extensions
from engage.config import Settings
from engage.embedded import start_mongo
from engage.embedded import start_redis
from tests.clients import Account
from tests.clients import Api
from tests.clients import RecordingClient
from tests.clients import unique_email
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.servers import engage_env
from tests.servers import run_app
from tests.servers import start_engage

DEFAULT_PASSWORD = "correct-horse-42"


@pytest.fixture(scope="session")
def tmp_root():
    path = Path(tempfile.mkdtemp(prefix="engage-tests-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def services(tmp_root):
    """The embedded MongoDB-compatible server and a real redis-server, on free ports."""
    mongo = start_mongo(":memory:", test_commands=True)
    redis = start_redis(tmp_root / "redis")
    yield {"mongodb_url": mongo.url, "redis_url": redis.url}
    redis.stop()
    mongo.stop()


@pytest.fixture(scope="session")
def engage_environment(services, tmp_root):
    """The environment every Engage child process of the suite runs with: one metrics directory for
    all, as under the main command (engage/metrics.py)."""
    metrics_dir = tmp_root / "metrics"
    metrics_dir.mkdir()
    return engage_env(services["mongodb_url"], services["redis_url"], PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))


@pytest.fixture(scope="session")
def web(engage_environment, tmp_root):
    """Engage's web server (Quart + Socket.IO under uvicorn) as a real process, after `migrate` as in production."""
    migrated = run_app(engage_environment, "migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    proc = start_engage("web", engage_environment, tmp_root)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def web2(engage_environment, tmp_root, web):
    """A second web process on the same Mongo and Redis: events must cross between them."""
    proc = start_engage("web", engage_environment, tmp_root)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def worker(engage_environment, tmp_root, web):
    """A real RQ worker process (`python app.py worker`, with RQ's scheduler)."""
    proc = start_engage("worker", engage_environment, tmp_root)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def settings(engage_environment) -> Settings:
    env = engage_environment
    return Settings(MONGODB_URL=env["MONGODB_URL"], REDIS_URL=env["REDIS_URL"], db_name=env["ENGAGE_DB_NAME"], secret_key=env["ENGAGE_SECRET_KEY"])


@pytest.fixture(scope="session")
async def db(settings, web):
    """Beanie in the test loop, on the same database, for checking what was stored."""
    client = await extensions.init_database(settings, create_indexes=False)
    extensions.init_redis(settings)
    # Like a worker, the test process emits through a write-only Redis manager.
    extensions.set_emitter(extensions.socketio_manager(settings, write_only=True))
    yield client
    await extensions.close_redis()
    await extensions.close_database()


@pytest.fixture(scope="session")
async def http_session():
    # uvicorn closes idle keep-alive connections after 5 s; aiohttp keeps them 15 s by default and
    # may write into one the server is closing. Drop idle connections first.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), connector=aiohttp.TCPConnector(keepalive_timeout=2))
    yield session
    await session.close()


@pytest.fixture(scope="session")
async def api(http_session, web) -> Api:
    return Api(http_session, web.url)


async def register(api: Api, role: str = "patient", **fields) -> dict:
    body = {"email": unique_email(role), "password": DEFAULT_PASSWORD, "name": f"Test {role.title()}", "role": role, **fields}
    resp = await api.post("/api/auth/register", body)
    assert resp.status == 201, resp.body
    return {**resp.body["user"], "password": body["password"]}


async def login(api: Api, email: str, password: str = DEFAULT_PASSWORD) -> Account:
    resp = await api.post("/api/auth/login", {"email": email, "password": password})
    assert resp.status == 200, resp.body
    user = resp.body["user"]
    return Account(user["id"], user["email"], password, user["role"], user["name"], resp.body["access_token"], resp.body["refresh_token"], user)


@pytest.fixture
async def admin(api) -> Account:
    """The admin, logged in per test: one session-long token would expire (15 min) in a long run."""
    return await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def make_patient(api):
    """Factory: a registered, logged-in patient."""

    async def make(**fields) -> Account:
        user = await register(api, "patient", **fields)
        return await login(api, user["email"], user["password"])

    return make


@pytest.fixture
def make_doctor(api, admin):
    """Factory: a registered doctor, approved by the admin and logged in."""

    async def make(**fields) -> Account:
        user = await register(api, "doctor", **fields)
        resp = await api.post(f"/api/admin/doctors/{user['id']}/approve", token=admin.access_token)
        assert resp.status == 200, resp.body
        return await login(api, user["email"], user["password"])

    return make


@pytest.fixture
async def connect(web):
    """Factory: a connected Socket.IO client for a token, over 'websocket' or 'polling'."""
    clients: list[RecordingClient] = []

    async def make(token: str | None, transport: str = "websocket", url: str | None = None) -> RecordingClient:
        client = RecordingClient(transport)
        clients.append(client)
        await client.connect(url or web.url, token)
        return client

    yield make
    for client in clients:
        await client.close()
