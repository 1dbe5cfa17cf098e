"""A private Engage for fault tests: its own database, Redis and web processes, which a test may
kill, stop and start again on the same ports and data (the session-wide servers stay untouched)."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import aiohttp
import pytest

from engage.embedded import ServerProcess
from engage.embedded import free_port
from engage.embedded import start_mongo
from engage.embedded import start_redis
from tests.clients import Api
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login
from tests.conftest import register
from tests.clients import Account
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.servers import EngageProcess
from tests.servers import engage_env
from tests.servers import start_engage


@dataclass
class FaultStack:
    root: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    mongo_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    mongo: ServerProcess | None = None
    redis: ServerProcess | None = None
    processes: list[EngageProcess] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return engage_env(
            f"mongodb://127.0.0.1:{self.mongo_port}/?directConnection=true", f"redis://127.0.0.1:{self.redis_port}/0", **self.extra_env
        )

    @property
    def webs(self) -> list[EngageProcess]:
        return [p for p in self.processes if p.role == "web"]

    def start_servers(self) -> FaultStack:
        self.start_mongo()
        self.start_redis()
        return self

    def start_mongo(self) -> None:
        # On disk, not :memory:, so a restart finds the data.
        self.mongo = start_mongo(self.root / "mongo", port=self.mongo_port, log_file=self.root / "mongo.log")

    def start_redis(self) -> None:
        self.redis = start_redis(self.root / "redis", port=self.redis_port, log_file=self.root / "redis.log")

    def stop_mongo(self) -> None:
        assert self.mongo is not None
        self.mongo.stop()

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.stop()

    def start(self, role: str, **extra: str) -> EngageProcess:
        proc = start_engage(role, {**self.env, **extra}, self.root)
        self.processes.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.processes:
            proc.kill()
        for server in (self.redis, self.mongo):
            if server is not None:
                server.stop()


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every process under it (a forking RQ worker's job runs in a child)."""
    for child in descendants(pid):
        try:
            os.kill(child, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


async def health(url: str) -> tuple[int, dict]:
    try:
        async with aiohttp.ClientSession() as session, session.get(url + "/healthz", timeout=aiohttp.ClientTimeout(total=5)) as resp:
            return resp.status, await resp.json()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return 0, {}



async def patient_and_doctor(api: Api) -> tuple[Account, Account, str]:
    """A registered patient and approved doctor on this stack, and their conversation's id."""
    admin = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
    patient_user = await register(api, "patient")
    doctor_user = await register(api, "doctor")
    resp = await api.post(f"/api/admin/doctors/{doctor_user['id']}/approve", token=admin.access_token)
    assert resp.status == 200, resp.body
    patient = await login(api, patient_user["email"], DEFAULT_PASSWORD)
    doctor = await login(api, doctor_user["email"], DEFAULT_PASSWORD)
    resp = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    assert resp.status in (200, 201), resp.body
    return patient, doctor, resp.body["conversation"]["id"]


@pytest.fixture
async def stack(request, tmp_path):
    """Servers of a test's own (its processes are started by the test); a module may set
    FAULT_STACK_ENV (a dict of extra environment). Import the fixture to use it."""
    stack = FaultStack(tmp_path, getattr(request.module, "FAULT_STACK_ENV", {})).start_servers()
    yield stack
    stack.close()
