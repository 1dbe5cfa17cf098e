"""Booking benchmark: throughput and p99 latency with and without contention, in one run.

    python bench/booking.py [--webs 1]

Starts its own secantus (in memory), redis-server and Engage web process(es) on free ports,
then runs two phases against POST /api/appointments:
  contention:    100 clients at once on 10 slots of one doctor (exactly 10 must win);
  no contention: 1,000 distinct slots (10 doctors x 100 slots) booked by 100 concurrent clients;
  sequential:    100 bookings by one client, one at a time (service time without queueing).
Notification jobs are enqueued but no worker runs, so only the booking path is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
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

from engage.embedded import start_mongo  # noqa: E402
from engage.embedded import start_redis  # noqa: E402
from tests.servers import ADMIN_EMAIL  # noqa: E402
from tests.servers import ADMIN_PASSWORD  # noqa: E402
from tests.servers import engage_env  # noqa: E402
from tests.servers import start_engage  # noqa: E402

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


def report(name: str, statuses: list[int], latencies: list[float], elapsed: float) -> None:
    counts = {code: statuses.count(code) for code in sorted(set(statuses))}
    print(
        f"{name:<28} requests {len(statuses):>5}  {len(statuses) / elapsed:>7.1f} req/s  "
        f"p50 {statistics.median(latencies):>6.1f} ms  p99 {percentile(latencies, 0.99):>6.1f} ms  statuses {counts}"
    )


async def run(urls: list[str], before_phases=None) -> None:
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
        began = time.perf_counter()
        statuses = await asyncio.gather(*[timed_book(client, token, doctors[10], slot(i % 10), latencies) for i, token in enumerate(patients)])
        report("contention (100 on 10)", list(statuses), latencies, time.perf_counter() - began)
        assert statuses.count(201) == 10 and statuses.count(409) == 90, statuses

        # Phase 2: 1,000 distinct slots; patient p books slot (p - d) mod 100 of doctor d, so never two at one time.
        latencies = []

        async def patient_run(p: int) -> list[int]:
            return [await timed_book(client, patients[p], doctors[d], slot(200 + (p - d) % 100), latencies) for d in range(10)]

        began = time.perf_counter()
        statuses = [s for batch in await asyncio.gather(*[patient_run(p) for p in range(100)]) for s in batch]
        report("no contention (1,000 slots)", statuses, latencies, time.perf_counter() - began)
        assert statuses.count(201) == 1000, {code: statuses.count(code) for code in set(statuses)}

        # Phase 3: one client, one request at a time: the service time of a booking without queueing.
        latencies = []
        began = time.perf_counter()
        statuses = [await timed_book(client, patients[i], doctors[10], slot(400 + i), latencies) for i in range(100)]
        report("sequential (1 client)", statuses, latencies, time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webs", type=int, default=1, help="number of web processes (requests round-robin)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    mongo = start_mongo(":memory:")
    redis = start_redis(root / "redis")
    webs = []
    try:
        env = engage_env(mongo.url, redis.url, ENGAGE_DB_NAME="engage_bench", ENGAGE_LOG_LEVEL="warning")
        webs = [start_engage("web", env, root) for _ in range(args.webs)]
        print(f"booking benchmark: {args.webs} web process(es), secantus + redis-server, no worker")
        asyncio.run(run([w.url for w in webs]))
    finally:
        for web in webs:
            web.stop()
        redis.stop()
        mongo.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
