"""Each connection is built once per process from its URL (issue 17, "One of each")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import redis

from engage import extensions

ROOT = Path(__file__).resolve().parent.parent

# Three jobs in one process, as a SimpleWorker runs them: each records the loop and clients it ran on.
JOBS_IN_ONE_PROCESS = """
import asyncio
import json

from engage import extensions
from workers.runtime import run_job

seen = []


async def job():
    await extensions.mongo().admin.command("ping")
    await extensions.redis_client().ping()
    seen.append((asyncio.get_running_loop(), extensions.mongo(), extensions.redis_client(), extensions.emitter()))


for _ in range(3):
    run_job(job)
print(json.dumps([all(first is later for first, later in zip(seen[0], each, strict=True)) for each in seen]))
"""


def test_the_jobs_of_a_worker_process_share_one_loop_and_its_connections(engage_environment):
    done = subprocess.run(
        [sys.executable, "-c", JOBS_IN_ONE_PROCESS], env=engage_environment, cwd=ROOT, capture_output=True, text=True, timeout=110
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [True, True, True]


def test_the_sync_redis_connection_keeps_tls_for_rediss_urls():
    connection = extensions.sync_redis_of("rediss://:secret@redis.example:6380/2")
    assert connection.connection_pool.connection_class is redis.SSLConnection
    assert connection.connection_pool.connection_kwargs["password"] == "secret"


def test_a_process_builds_one_sync_redis_connection_per_url(settings):
    assert extensions.sync_redis(settings) is extensions.sync_redis(settings.model_copy())
    assert extensions.sync_redis(settings) is not extensions.sync_redis_of("redis://127.0.0.1:1/0")
