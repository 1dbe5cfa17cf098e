"""Workers killed mid-job on every queue, and a killed scheduler.

A SIGKILLed worker's job is requeued by the next worker to start (workers/recovery.py) and done
exactly once; jobs queued behind it run once too; a second scheduler takes over the lock of a
killed one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import redis

from engage import extensions
from engage.scheduler import LOCK_KEY
from tests.fault_stack import FaultStack
from tests.fault_stack import stack  # noqa: F401
from tests.fault_stack import kill_tree
from tests.servers import ROOT
from tests.waiting import wait_until


FAULT_STACK_ENV = {"ENGAGE_SCHEDULER_LOCK_SECONDS": "3"}


@pytest.mark.timeout(360)  # four workers starting, killed, and four more, on a busy machine
async def test_workers_killed_mid_job_on_every_queue_leave_each_job_done_once(stack):
    connection = redis.Redis(port=stack.redis_port)
    names = extensions.QUEUE_NAMES
    assert check(stack, "worker").returncode == 1  # the container health check, before any worker
    # One worker per queue's job, so every queue has a job running when they are killed.
    victims = [stack.start("worker") for _ in names]
    for name in names:
        extensions.queue(name, connection).enqueue("tests.fault_jobs.hold_then_record", "done", name, "gate", job_timeout=600)
    await wait_until(lambda: connection.llen("done:started") == len(names), timeout=180, what="a job running on every queue")  # four workers starting on a busy machine
    assert check(stack, "worker").returncode == 0
    for victim in victims:
        kill_tree(victim.process.pid)
        victim.process.wait()
    # Jobs queued behind the killed ones, and the gate the held jobs wait for, open now.
    for name in names:
        extensions.queue(name, connection).enqueue("tests.fault_jobs.record", "done", f"{name}-queued")
    connection.set("gate", 1)
    assert connection.llen("done") == 0

    stack.start("worker")
    expected = sorted([*names, *(f"{name}-queued" for name in names)])
    await wait_until(lambda: connection.llen("done") >= len(expected), timeout=40, what="every job done")
    assert sorted(v.decode() for v in connection.lrange("done", 0, -1)) == expected
    # Each held job started twice (killed once), and finished once.
    assert sorted(v.decode() for v in connection.lrange("done:started", 0, -1)) == sorted([*names, *names])


async def test_a_second_scheduler_takes_over_the_lock_of_a_killed_one(stack):
    connection = redis.Redis(port=stack.redis_port)
    schedulers = {proc.process.pid: proc for proc in (stack.start("scheduler"), stack.start("scheduler"))}

    async def holder() -> int | None:
        value = connection.get(LOCK_KEY)
        return int(value.decode().rsplit(":", 1)[1]) if value else None

    first = await wait_until(holder, timeout=40, what="a scheduler holding the lock")
    assert first in schedulers
    os.kill(first, signal.SIGKILL)
    schedulers[first].process.wait()
    (other,) = set(schedulers) - {first}
    await wait_until(lambda: _equal(holder(), other), timeout=30, what="the other scheduler holding the lock")
    assert schedulers[other].process.poll() is None
    assert check(stack, "scheduler").returncode == 0


def check(stack: FaultStack, role: str) -> subprocess.CompletedProcess:
    """`python app.py check <role>`, the containers' health check."""
    return subprocess.run([sys.executable, str(ROOT / "app.py"), "check", role], env=stack.env, cwd=ROOT, capture_output=True, text=True, timeout=30)


async def _equal(value, expected) -> bool:
    return (await value) == expected

