"""Pharmacy benchmark: checkouts per second and p99 latency with and without contention, in one run.

    python bench/pharmacy.py [--webs 2]

Starts its own secantus (in memory), redis-server and Engage web process(es) on free ports,
then runs three phases against POST /api/orders (each patient's cart is filled beforehand, untimed):
  contention:    100 patients at once on the last 10 units of one item (exactly 10 must win);
  no contention: 100 patients at once, 5 checkouts each, each on its own well-stocked item;
  sequential:    100 checkouts by one patient, one at a time (service time without queueing).
Notification jobs are enqueued but no worker runs, so only the checkout path is measured.
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


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def add_item(client: Client, admin_token: str, clinic_id: str, stock: int) -> str:
    body = {"name": f"Bench item {uuid.uuid4().hex[:6]}", "form": "tablet", "strength": "10 mg", "pack_size": 30, "price": "4.20", "initial_stock": stock}
    status, reply = await client.call("POST", f"/api/clinics/{clinic_id}/pharmacy/items", body, token=admin_token)
    assert status == 201, reply
    return reply["item"]["id"]


async def fill_cart(client: Client, token: str, clinic_id: str, item_id: str) -> None:
    status, body = await client.call("PUT", "/api/me/cart", {"clinic_id": clinic_id, "lines": [{"item_id": item_id, "quantity": 1}]}, token=token)
    assert status == 200, body


async def timed_checkout(client: Client, token: str, clinic_id: str, latencies: list[float]) -> int:
    began = time.perf_counter()
    status, _ = await client.call("POST", "/api/orders", {"clinic_id": clinic_id, "client_id": uuid.uuid4().hex}, token=token)
    latencies.append((time.perf_counter() - began) * 1000)
    return status


def report(name: str, statuses: list[int], latencies: list[float], elapsed: float) -> None:
    counts = {code: statuses.count(code) for code in sorted(set(statuses))}
    print(
        f"{name:<30} requests {len(statuses):>5}  {len(statuses) / elapsed:>7.1f} req/s  "
        f"p50 {statistics.median(latencies):>6.1f} ms  p99 {percentile(latencies, 0.99):>6.1f} ms  statuses {counts}"
    )


async def run(urls: list[str]) -> None:
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        client = Client(session, urls)
        _, admin_token = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        status, body = await client.call("POST", "/api/admin/clinics", {"name": "Bench clinic", "timezone": "UTC"}, token=admin_token)
        clinic_id = body["clinic"]["id"]
        patients: list[str] = []
        for _ in range(20):  # password hashing is slow on purpose: a few at a time
            patients.extend(token for _, token in await asyncio.gather(*[make_user(client, "patient", admin_token) for _ in range(5)]))

        # Phase 1: 100 patients at once on the last 10 units of one item.
        scarce = await add_item(client, admin_token, clinic_id, 10)
        await asyncio.gather(*[fill_cart(client, token, clinic_id, scarce) for token in patients])
        latencies: list[float] = []
        began = time.perf_counter()
        statuses = await asyncio.gather(*[timed_checkout(client, token, clinic_id, latencies) for token in patients])
        report("contention (100 on 10 units)", list(statuses), latencies, time.perf_counter() - began)
        assert statuses.count(201) == 10 and statuses.count(409) == 90, statuses

        # Phase 2: each patient checks out its own item 5 times (cart refilled, untimed, between checkouts).
        items = [await add_item(client, admin_token, clinic_id, 1000) for _ in range(100)]
        latencies = []
        elapsed = 0.0

        async def patient_round(p: int) -> int:
            return await timed_checkout(client, patients[p], clinic_id, latencies)

        statuses = []
        for _ in range(5):
            await asyncio.gather(*[fill_cart(client, patients[p], clinic_id, items[p]) for p in range(100)])
            began = time.perf_counter()
            statuses += await asyncio.gather(*[patient_round(p) for p in range(100)])
            elapsed += time.perf_counter() - began
        report("no contention (100 x 5)", statuses, latencies, elapsed)
        assert statuses.count(201) == 500, {code: statuses.count(code) for code in set(statuses)}

        # Phase 3: one patient, one checkout at a time.
        latencies, statuses, elapsed = [], [], 0.0
        for _ in range(100):
            await fill_cart(client, patients[0], clinic_id, items[0])
            began = time.perf_counter()
            statuses.append(await timed_checkout(client, patients[0], clinic_id, latencies))
            elapsed += time.perf_counter() - began
        report("sequential (1 client)", statuses, latencies, elapsed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webs", type=int, default=2, help="number of web processes (requests round-robin)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    mongo = start_mongo(":memory:")
    redis = start_redis(root / "redis")
    webs = []
    try:
        env = engage_env(mongo.url, redis.url, ENGAGE_DB_NAME="engage_bench", ENGAGE_LOG_LEVEL="warning")
        webs = [start_engage("web", env, root) for _ in range(args.webs)]
        print(f"pharmacy benchmark: {args.webs} web process(es), secantus + redis-server, no worker")
        asyncio.run(run([w.url for w in webs]))
    finally:
        for web in webs:
            web.stop()
        redis.stop()
        mongo.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
