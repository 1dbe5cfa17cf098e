"""Vitals benchmark: readings ingested per second with 20 doctors watching, and end-to-end latency
from a patient's submit to each watching doctor's vitals:reading.

    python -m bench.vitals_bench [--doctors 20] [--patients 10] [--readings 1500] [--batches 4]

Starts its own embedded MongoDB-compatible server, redis-server and one Engage web process on
free loopback ports, and stops them at the end. Every doctor watches every patient, so each
reading is delivered to all doctors. Two ingest paths are measured:
  socket: patients send `vitals:submit` concurrently (one reading per call, acked);
  batch:  POST /api/vitals with 500 readings per request (one insert_many per batch).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import aiohttp
import socketio
from bson import ObjectId
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engage.embedded import start_mongo  # noqa: E402
from engage.embedded import start_redis  # noqa: E402
from tests.servers import ADMIN_EMAIL  # noqa: E402
from tests.servers import ADMIN_PASSWORD  # noqa: E402
from tests.servers import engage_env  # noqa: E402
from tests.servers import start_engage  # noqa: E402

PASSWORD = "bench-password-42"


async def account(http: aiohttp.ClientSession, url: str, role: str, n: int, admin_token: str | None = None) -> dict:
    email = f"bench-{role}-{n}-{os.urandom(3).hex()}@example.org"
    async with http.post(f"{url}/api/auth/register", json={"email": email, "password": PASSWORD, "name": f"Bench {role} {n}", "role": role}) as r:
        user = (await r.json())["user"]
    if role == "doctor":
        async with http.post(f"{url}/api/admin/doctors/{user['id']}/approve", headers={"Authorization": f"Bearer {admin_token}"}) as r:
            assert r.status == 200
    async with http.post(f"{url}/api/auth/login", json={"email": email, "password": PASSWORD}) as r:
        body = await r.json()
    return {"id": user["id"], "token": body["access_token"]}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    mongo = start_mongo(":memory:")
    redis = start_redis(tmp / "redis")
    # The per-user socket limits (60 vitals:submit a minute) would refuse most of the load.
    env = engage_env(mongo.url, redis.url, ENGAGE_LOG_LEVEL="error", ENGAGE_PING_INTERVAL="25", ENGAGE_PING_TIMEOUT="20",
                     ENGAGE_SOCKET_EVENT_LIMITS="vitals:submit=1000000/1,vitals:watch=1000000/1")
    web = start_engage("web", env, tmp)
    clients: list[socketio.AsyncClient] = []
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{web.url}/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}) as r:
                admin_token = (await r.json())["access_token"]
            doctors = [await account(http, web.url, "doctor", i, admin_token) for i in range(args.doctors)]
            patients = [await account(http, web.url, "patient", i) for i in range(args.patients)]
            with MongoClient(mongo.url) as sync_mongo:
                sync_mongo["engage_test"]["conversations"].insert_many(
                    [{"doctor_id": ObjectId(d["id"]), "patient_id": ObjectId(p["id"])} for d in doctors for p in patients]
                )

            sent: dict[str, float] = {}
            latencies: list[float] = []
            delivered = 0
            all_delivered = asyncio.Event()
            expected = 0

            def on_reading(data: dict) -> None:
                nonlocal delivered
                started = sent.get(data["reading"]["note"] or "")
                if started is not None:
                    latencies.append((time.perf_counter() - started) * 1000)
                delivered += 1
                if delivered >= expected:
                    all_delivered.set()

            for doctor in doctors:
                client = socketio.AsyncClient(reconnection=False)
                client.on("vitals:reading", on_reading)
                await client.connect(web.url, auth={"token": doctor["token"]}, transports=["websocket"], wait_timeout=10)
                for patient in patients:
                    ack = await client.call("vitals:watch", {"patient_id": patient["id"]}, timeout=30)
                    assert ack["ok"], ack
                clients.append(client)
            patient_clients = []
            for patient in patients:
                client = socketio.AsyncClient(reconnection=False)
                await client.connect(web.url, auth={"token": patient["token"]}, transports=["websocket"], wait_timeout=10)
                clients.append(client)
                patient_clients.append(client)

            # --- socket path: every patient submits its share concurrently, one acked call at a time.
            per_patient = args.readings // args.patients
            expected = per_patient * args.patients * args.doctors
            base = datetime.now(UTC) - timedelta(hours=12)
            failures = 0

            async def submit_all(index: int, client: socketio.AsyncClient) -> None:
                nonlocal failures
                for i in range(per_patient):
                    tag = f"s{index}:{i}"
                    reading = {"type": "heart_rate", "value": 60 + i % 40, "taken_at": (base + timedelta(seconds=3 * i)).isoformat(), "note": tag}
                    sent[tag] = time.perf_counter()
                    ack = await client.call("vitals:submit", reading, timeout=60)
                    if not ack.get("ok") or ack.get("status") != "created":
                        failures += 1

            started = time.perf_counter()
            await asyncio.gather(*[submit_all(i, c) for i, c in enumerate(patient_clients)])
            acked = time.perf_counter() - started
            try:
                await asyncio.wait_for(all_delivered.wait(), 60)
            except TimeoutError:
                pass
            drained = time.perf_counter() - started
            socket_n = per_patient * args.patients
            print(f"socket vitals:submit: {socket_n} readings from {args.patients} patients, {args.doctors} doctors watching each")
            print(f"  ingest {socket_n / acked:,.0f} readings/s (acked), {delivered:,} of {expected:,} deliveries in {drained:.2f} s "
                  f"({delivered / drained:,.0f} deliveries/s), failures {failures}")
            print(f"  submit -> doctor's vitals:reading latency ms: p50 {percentile(latencies, 50):.1f}  p95 {percentile(latencies, 95):.1f}  "
                  f"p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}  (mean {statistics.mean(latencies):.1f})")

            # --- batch path: POST /api/vitals with 500 readings per request, patients in turn.
            latencies.clear()
            delivered = 0
            all_delivered.clear()
            batch_n = args.batches * 500
            expected = batch_n * args.doctors
            base = datetime.now(UTC) - timedelta(days=25)
            started = time.perf_counter()

            async def post_batch(b: int) -> None:
                patient = patients[b % len(patients)]
                readings = [{"type": "spo2", "value": 95 + i % 5, "taken_at": (base + timedelta(days=b, seconds=3 * i)).isoformat(), "note": f"b{b}:{i}"}
                            for i in range(500)]
                t0 = time.perf_counter()
                for i in range(500):
                    sent[f"b{b}:{i}"] = t0
                async with http.post(f"{web.url}/api/vitals", json={"readings": readings}, headers={"Authorization": f"Bearer {patient['token']}"}) as r:
                    body = await r.json()
                    assert body["created"] == 500, body

            await asyncio.gather(*[post_batch(b) for b in range(args.batches)])
            acked = time.perf_counter() - started
            try:
                await asyncio.wait_for(all_delivered.wait(), 60)
            except TimeoutError:
                pass
            drained = time.perf_counter() - started
            print(f"HTTP batch (500 per request, {args.batches} concurrent requests): {batch_n} readings")
            print(f"  ingest {batch_n / acked:,.0f} readings/s (stored and answered), {delivered:,} of {expected:,} deliveries in {drained:.2f} s")
            print(f"  request start -> doctor's vitals:reading latency ms: p50 {percentile(latencies, 50):.1f}  p99 {percentile(latencies, 99):.1f}")
    finally:
        for client in clients:
            try:
                await client.disconnect()
            except Exception:
                pass
        web.stop()
        redis.stop()
        mongo.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--doctors", type=int, default=20)
    parser.add_argument("--patients", type=int, default=10)
    parser.add_argument("--readings", type=int, default=1500)
    parser.add_argument("--batches", type=int, default=4)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
