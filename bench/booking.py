"""Booking benchmark: throughput and p99 latency with and without contention, in one run.

    python bench/booking.py [--webs 1] [--compare-with <git-ref>]

Starts its own secantus (in memory), redis-server and Engage web process(es) on free ports,
then runs three phases against POST /api/appointments:
  contention:    100 clients at once on 10 slots of one doctor (exactly 10 must win);
  no contention: 1,000 distinct slots (10 doctors x 100 slots) booked by 100 concurrent clients;
  sequential:    100 bookings by one client, one at a time (service time without queueing).
Notification jobs are enqueued but no worker runs, so only the booking path is measured.

--compare-with REF runs the same phases first against the web process of REF (checked out in a
temporary `git worktree`, with fresh servers), then against this tree, and prints both: "before"
and "after" measured by one load generator in one run (the machine is noisy between runs).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC
from datetime import datetime
from datetime import time as clock
from datetime import timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procstat import cpu_seconds  # noqa: E402
from engage.embedded import start_mongo  # noqa: E402
from engage.embedded import start_redis  # noqa: E402
from engage.embedded import die_with_parent  # noqa: E402
from engage.embedded import free_port  # noqa: E402
from tests.servers import ADMIN_EMAIL  # noqa: E402
from tests.servers import ADMIN_PASSWORD  # noqa: E402
from tests.servers import ROOT  # noqa: E402
from tests.servers import EngageProcess  # noqa: E402
from tests.servers import engage_env  # noqa: E402
from tests.servers import wait_healthy  # noqa: E402

PASSWORD = "bench-password-42"
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


class Client:
    def __init__(self, session: aiohttp.ClientSession, urls: list[str]) -> None:
        self.session = session
        self.urls = urls
        self.turn = 0

    async def call(self, method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict]:
        self.turn += 1
        url = self.urls[self.turn % len(self.urls)] + path
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.request(method, url, json=body, headers=headers) as resp:
            return resp.status, await resp.json(content_type=None)


async def login(client: Client, email: str, password: str) -> tuple[str, str]:
    status, body = await client.call("POST", "/api/auth/login", {"email": email, "password": password})
    assert status == 200, body
    return body["user"]["id"], body["access_token"]


async def make_user(client: Client, role: str, admin_token: str) -> tuple[str, str]:
    email = f"bench-{role}-{uuid.uuid4().hex[:10]}@example.org"
    status, body = await client.call("POST", "/api/auth/register", {"email": email, "password": PASSWORD, "name": f"Bench {role}", "role": role})
    assert status == 201, body
    if role == "doctor":
        status, body = await client.call("POST", f"/api/admin/doctors/{body['user']['id']}/approve", token=admin_token)
        assert status == 200, body
    return await login(client, email, PASSWORD)


async def make_doctor(client: Client, admin_token: str, clinic_id: str) -> str:
    doctor_id, token = await make_user(client, "doctor", admin_token)
    status, body = await client.call("PATCH", f"/api/doctors/{doctor_id}", {"clinic_id": clinic_id, "specialties": ["bench"]}, token=admin_token)
    assert status == 200, body
    status, body = await client.call("PUT", f"/api/doctors/{doctor_id}/availability", {"slot_minutes": 30, "weekly": ALL_DAY}, token=token)
    assert status == 200, body
    return doctor_id


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def timed_book(client: Client, token: str, doctor_id: str, start: str, latencies: list[float]) -> int:
    began = time.perf_counter()
    status, _ = await client.call("POST", "/api/appointments", {"doctor_id": doctor_id, "start": start, "client_id": uuid.uuid4().hex}, token=token)
    latencies.append((time.perf_counter() - began) * 1000)
    return status


class CpuMeter:
    """CPU seconds the servers use over one phase: where a request's cost goes (web, database, Redis)."""

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids
        self.start()

    def start(self) -> None:
        self.began = self._now()

    def _now(self) -> dict[str, float]:
        return {label: sum(cpu_seconds(pid) for pid in pids) for label, pids in self.pids.items()}

    def used(self) -> dict[str, float]:
        now = self._now()
        return {label: now[label] - self.began[label] for label in now}


def report(name: str, statuses: list[int], latencies: list[float], elapsed: float, cpu: CpuMeter) -> dict[str, float]:
    counts = {code: statuses.count(code) for code in sorted(set(statuses))}
    figures = {
        "requests": len(statuses),
        "req/s": len(statuses) / elapsed,
        "p50 ms": statistics.median(latencies),
        "p99 ms": percentile(latencies, 0.99),
        "winners": counts.get(201, 0),
    }
    for label, seconds in cpu.used().items():
        figures[f"{label} CPU ms/req"] = seconds * 1000 / len(statuses)
    print(
        f"{name:<28} requests {len(statuses):>5}  {figures['req/s']:>7.1f} req/s  "
        f"p50 {figures['p50 ms']:>6.1f} ms  p99 {figures['p99 ms']:>6.1f} ms  statuses {counts}\n"
        f"{'':<28} CPU ms per request: " + ", ".join(f"{label} {figures[f'{label} CPU ms/req']:.2f}" for label in cpu.pids),
        flush=True,
    )
    return figures


async def run(urls: list[str], pids: dict[str, list[int]], before_phases=None) -> dict[str, dict[str, float]]:
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        client = Client(session, urls)
        _, admin_token = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        status, body = await client.call("POST", "/api/admin/clinics", {"name": "Bench clinic", "timezone": "UTC"}, token=admin_token)
        clinic_id = body["clinic"]["id"]
        doctors = [await make_doctor(client, admin_token, clinic_id) for _ in range(11)]
        patients: list[str] = []
        for _ in range(20):  # password hashing is slow on purpose: a few at a time
            patients.extend(token for _, token in await asyncio.gather(*[make_user(client, "patient", admin_token) for _ in range(5)]))
        day0 = datetime.combine((datetime.now(UTC) + timedelta(days=2)).date(), clock(0), tzinfo=UTC)

        def slot(index: int) -> str:
            return (day0 + timedelta(minutes=30 * index)).isoformat().replace("+00:00", "Z")

        if before_phases is not None:
            before_phases()
        # Phase 1: 100 clients at once on 10 slots of one doctor.
        latencies: list[float] = []
        cpu = CpuMeter(pids)
        began = time.perf_counter()
        statuses = await asyncio.gather(*[timed_book(client, token, doctors[10], slot(i % 10), latencies) for i, token in enumerate(patients)])
        figures = {"contention": report("contention (100 on 10)", list(statuses), latencies, time.perf_counter() - began, cpu)}
        assert statuses.count(201) == 10 and statuses.count(409) == 90, statuses

        # Phase 2: 1,000 distinct slots; patient p books slot (p - d) mod 100 of doctor d, so never two at one time.
        latencies = []

        async def patient_run(p: int) -> list[int]:
            return [await timed_book(client, patients[p], doctors[d], slot(200 + (p - d) % 100), latencies) for d in range(10)]

        cpu.start()
        began = time.perf_counter()
        statuses = [s for batch in await asyncio.gather(*[patient_run(p) for p in range(100)]) for s in batch]
        figures["no contention"] = report("no contention (1,000 slots)", statuses, latencies, time.perf_counter() - began, cpu)
        assert statuses.count(201) == 1000, {code: statuses.count(code) for code in set(statuses)}

        # Phase 3: one client, one request at a time: the service time of a booking without queueing.
        latencies = []
        cpu.start()
        began = time.perf_counter()
        statuses = [await timed_book(client, patients[i], doctors[10], slot(400 + i), latencies) for i in range(100)]
        figures["sequential"] = report("sequential (1 client)", statuses, latencies, time.perf_counter() - began, cpu)
        return figures


# (phase, figure, goal as text, met?) of issue 22's three booking rows.
GOALS = [
    ("contention", "p99 ms", "<= 300", lambda v: v <= 300),
    ("contention", "winners", "== 10", lambda v: v == 10),
    ("contention", "p50 ms", "", None),
    ("contention", "req/s", "", None),
    ("contention", "web CPU ms/req", "", None),
    ("contention", "database CPU ms/req", "", None),
    ("no contention", "req/s", ">= 400", lambda v: v >= 400),
    ("no contention", "p99 ms", "", None),
    ("sequential", "p50 ms", "<= 10", lambda v: v <= 10),
    ("sequential", "web CPU ms/req", "", None),
    ("sequential", "database CPU ms/req", "", None),
]


def summary(runs: dict[str, dict[str, dict[str, float]]]) -> None:
    """One line per figure of the issue's rows, one column per measured tree."""
    names = list(runs)
    width = max(16, *(len(name) + 2 for name in names))
    print("\n" + f"{'figure':<28}" + "".join(f"{name:>{width}}" for name in names) + "   goal")
    for phase, figure, goal, met in GOALS:
        cells = "".join(f"{runs[name][phase][figure]:>{width}.1f}" for name in names)
        verdict = "" if met is None else ("  met" if met(runs[names[-1]][phase][figure]) else "  not met")
        print(f"{phase + ' ' + figure:<28}{cells}   {goal}{verdict}")


def start_web(env: dict[str, str], log_dir: Path, root: Path) -> EngageProcess:
    """`python app.py web` of the tree at root (this one, or a worktree of another commit)."""
    env = dict(env, PORT=str(free_port()))
    log_path = log_dir / f"web-{env['PORT']}.log"
    process = subprocess.Popen(
        [sys.executable, str(root / "app.py"), "web"], env=env, cwd=root, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, preexec_fn=die_with_parent
    )
    proc = EngageProcess("web", process, log_path, int(env["PORT"]), env)
    wait_healthy(proc)
    return proc


def measure(root: Path, webs: int, label: str) -> dict[str, dict[str, float]]:
    """Fresh servers, the web process(es) of the tree at root, the three phases."""
    scratch = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    mongo = start_mongo(":memory:")
    redis = start_redis(scratch / "redis")
    started: list[EngageProcess] = []
    try:
        env = engage_env(mongo.url, redis.url, ENGAGE_DB_NAME="engage_bench", ENGAGE_LOG_LEVEL="warning")
        migrated = subprocess.run([sys.executable, str(root / "app.py"), "migrate"], env=env, cwd=root, capture_output=True, text=True)
        if migrated.returncode != 0:
            print(f"{label}: migrate failed (older trees start without it):\n{migrated.stdout}{migrated.stderr}")
        started = [start_web(env, scratch, root) for _ in range(webs)]
        print(f"booking benchmark [{label}]: {webs} web process(es) from {root}, secantus + redis-server, no worker", flush=True)
        pids = {"web": [w.process.pid for w in started], "database": [mongo.process.pid], "redis": [redis.process.pid]}
        return asyncio.run(run([w.url for w in started], pids))
    finally:
        for web in started:
            web.stop()
        redis.stop()
        mongo.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webs", type=int, default=1, help="number of web processes (requests round-robin)")
    parser.add_argument("--compare-with", metavar="REF", help="measure this git ref first (a temporary worktree), then this tree")
    args = parser.parse_args()
    runs: dict[str, dict[str, dict[str, float]]] = {}
    if args.compare_with:
        worktree = Path(tempfile.mkdtemp(prefix="engage-bench-ref-")) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.compare_with], check=True, capture_output=True)
        try:
            runs[f"before {args.compare_with}"] = measure(worktree, args.webs, f"before: {args.compare_with}")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
            shutil.rmtree(worktree.parent, ignore_errors=True)
    runs["after (this tree)" if args.compare_with else "this tree"] = measure(ROOT, args.webs, "this tree")
    summary(runs)


if __name__ == "__main__":
    main()
