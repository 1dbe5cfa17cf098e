"""The only module-level singletons: the Mongo client, Redis, RQ queues and the event emitter.

Each process (web, worker job, scheduler) initialises what it needs once at start;
code reaches them through the getters so a missing initialisation fails loudly.
"""

from __future__ import annotations

import functools
import logging

import redis
import redis.asyncio as aioredis
import socketio
from beanie import init_beanie
from pymongo import AsyncMongoClient
from redis.driver_info import DriverInfo
from rq import Queue

from engage.config import Settings
from engage.lib.availability_view import AvailabilityView
from engage.lib.redis_fanout import BatchingRedisManager
from engage.models import DOCUMENT_MODELS

log = logging.getLogger(__name__)

# Queue names, in one place. Workers listen to all of them, most urgent first.
QUEUE_NAMES = ("critical", "notifications", "default", "advice")
SOCKETIO_CHANNEL = "engage-socketio"

# redis-py looks its own version up in the installed packages' metadata for every new connection
# (about 1 ms of CPU, more with many packages): a burst of requests that grows the pool paid it
# once per connection, on the event loop. One DriverInfo, built once, is passed to every pool.
REDIS_DRIVER_INFO = DriverInfo(lib_version=redis.__version__)

_mongo: AsyncMongoClient | None = None
_redis: aioredis.Redis | None = None
_redis_url: str | None = None
_emitter: socketio.AsyncServer | socketio.AsyncRedisManager | None = None
_availability_view: AvailabilityView | None = None


async def init_database(settings: Settings, create_indexes: bool = True) -> AsyncMongoClient:
    """Connect to Mongo (tz-aware) and initialise Beanie with every document model."""
    global _mongo
    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url, tz_aware=True, serverSelectionTimeoutMS=5000)
    database = client.get_default_database(default=settings.db_name)
    # Web processes create indexes at start; jobs skip that work (it runs per job).
    await init_beanie(database=database, document_models=DOCUMENT_MODELS, skip_indexes=not create_indexes)
    _mongo = client
    return client


async def close_database() -> None:
    global _mongo
    if _mongo is not None:
        await _mongo.close()
        _mongo = None


def mongo() -> AsyncMongoClient:
    if _mongo is None:
        raise RuntimeError("database not initialised")
    return _mongo


def init_redis(settings: Settings) -> aioredis.Redis:
    global _redis, _redis_url
    # redis-py 8's default async pool fails instead of waiting when full; block instead.
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=500, timeout=10, driver_info=REDIS_DRIVER_INFO
    )
    _redis = aioredis.Redis(connection_pool=pool, decode_responses=False)
    _redis_url = settings.redis_url
    return _redis


async def close_redis() -> None:
    global _redis
    if _redis is not None:
        await _redis.aclose()
        _redis = None


def redis_client() -> aioredis.Redis:
    if _redis is None:
        raise RuntimeError("redis not initialised")
    return _redis


def sync_redis(settings: Settings) -> redis.Redis:
    """The process's synchronous Redis connection (RQ is synchronous): one per Redis URL, never closed
    by its users. redis-py's pool is thread-safe and starts afresh in a forked process."""
    assert settings.redis_url, "no Redis URL"
    return sync_redis_of(settings.redis_url)


def sync_twin_of_redis_client() -> redis.Redis:
    """The process's synchronous connection to the Redis that init_redis connected (for RQ calls
    made from async code, which must reach the same Redis as redis_client())."""
    if _redis_url is None:
        raise RuntimeError("redis not initialised")
    return sync_redis_of(_redis_url)


@functools.cache
def sync_redis_of(url: str, socket_timeout: float | None = None) -> redis.Redis:
    """The process's synchronous connection to this Redis URL (sync_redis, or a health check's with a timeout)."""
    # from_url keeps TLS for rediss:// URLs (and the password, database and options of the URL).
    # The pool is passed in, so a caller's close() cannot disconnect it under the others.
    return redis.Redis(connection_pool=redis.ConnectionPool.from_url(url, socket_timeout=socket_timeout, driver_info=REDIS_DRIVER_INFO))


def queue(name: str, connection: redis.Redis) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name}")
    return Queue(name, connection=connection)


def socketio_manager(settings: Settings, write_only: bool = False) -> BatchingRedisManager:
    # python-socketio rebuilds its Redis client whenever redis-py's pool is exhausted (measured with
    # redis-py 8's default of 100: a new connection per publish under load); a large pool keeps one.
    manager = BatchingRedisManager(
        settings.redis_url,
        channel=SOCKETIO_CHANNEL,
        write_only=write_only,
        redis_options={"max_connections": 10000, "driver_info": REDIS_DRIVER_INFO},
    )
    # Named connections: /healthz finds this process's own subscription among Redis's clients.
    # python-socketio reconnects and resubscribes by itself after Redis comes back.
    manager.redis_options["client_name"] = listener_client_name(manager)
    return manager


def listener_client_name(manager: socketio.AsyncRedisManager) -> str:
    """The Redis client name of one process's Socket.IO manager connections."""
    return f"engage-socketio-{manager.host_id}"


def set_emitter(emitter: socketio.AsyncServer | socketio.AsyncRedisManager) -> None:
    """Web processes emit through their server; workers through a write-only Redis manager."""
    global _emitter
    _emitter = emitter


def emitter() -> socketio.AsyncServer | socketio.AsyncRedisManager:
    if _emitter is None:
        raise RuntimeError("event emitter not initialised")
    return _emitter


def set_availability_view(view: AvailabilityView) -> None:
    """Web processes keep one view of taken doctor slots (engage.lib.availability_view)."""
    global _availability_view
    _availability_view = view


def availability_view() -> AvailabilityView | None:
    """The process's availability view; None where none runs (workers read the database)."""
    return _availability_view
