"""Notifications benchmark: 10,000 SMS come due at one moment; time until all reach a capture server.

    python -m bench.notifications                 # one worker, then two workers, then a crash run
    python -m bench.notifications --runs 1 2      # choose the runs ("crash" for the crash run)
    python -m bench.notifications --count 2000    # fewer notifications

Real processes: secantus and redis-server (embedded), one `app.py scheduler` (its scan enqueues the
due notifications), `app.py worker` processes (SimpleWorker), and the real Twilio SDK talking to a
local capture server that records every request. Each notification goes to its own number, so
duplicates (two requests to one number) and losses (a number with none) are counted exactly.
The crash run SIGKILLs a worker every few seconds and starts a fresh one.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bson import ObjectId
import redis as redis_lib
from pymongo import MongoClient
from rq import Worker

from engage.embedded import start_mongo
from engage.embedded import start_redis
from engage.models.base import utcnow
from tests.notify_stack import stack_env
from tests.provider_server import ProviderServer
from tests.servers import engage_env
from tests.servers import run_app
from tests.servers import start_engage

DB = "engage_bench"


def phone(i: int) -> str:
    return f"+1415{2000000 + i:07d}"


def seed(mongo_url: str, count: int, due_in: float) -> tuple[MongoClient, object]:
    """Users with their own numbers and one queued SMS each, all due at one instant (insert_many; `migrate` made the indexes)."""
    client = MongoClient(mongo_url, tz_aware=True)
    db = client[DB]
    db.users.delete_many({})
    db.notifications.delete_many({})
    now = utcnow()
    due = now + timedelta(seconds=due_in)
    users = [{"_id": ObjectId(), "email": f"bench{i}@example.org", "password_hash": "x", "name": f"Patient {i}", "role": "patient",
              "approved": True, "phone": phone(i), "timezone": "Europe/Paris", "created_at": now} for i in range(count)]
    db.users.insert_many(users)
    notes = [{"recipient_id": u["_id"], "channel": "sms", "kind": "medication_reminder", "category": "reminders", "template": "medication_reminder/sms",
              "context": {"schedule_id": "s"}, "idempotency_key": f"bench:{u['_id']}", "critical": False, "status": "queued", "due_at": due,
              "attempts": 0, "enqueued_at": None, "created_at": now, "updated_at": now} for u in users]
    for start in range(0, count, 2000):
        db.notifications.insert_many(notes[start : start + 2000], ordered=False)
    return client, due


def run(label: str, workers: int, count: int, crash_every: float | None, base_env: dict, tmp: Path, tuning: dict[str, str]) -> dict:
    provider = ProviderServer().start()
    env = stack_env(base_env, provider, 0, ENGAGE_LOG_LEVEL="warning", ENGAGE_NOTIFICATION_LEASE_SECONDS="60", **tuning)
    connection = redis_lib.Redis.from_url(env["REDIS_URL"])
    connection.flushdb()
    procs = [start_engage("worker", env, tmp) for _ in range(workers)]
    scheduler = start_engage("scheduler", env, tmp)
    # The wave starts once every worker is taking jobs: the figure is the send, not the start-up.
    started = time.monotonic()
    while Worker.count(connection=connection) < workers:
        if time.monotonic() - started > 120:
            raise RuntimeError("workers did not start within 120 s")
        time.sleep(0.1)
    client, due = seed(env["MONGODB_URL"], count, due_in=3.0)
    kills = 0
    try:
        while utcnow() < due:
            time.sleep(0.01)
        t0 = time.monotonic()
        next_kill = t0 + crash_every if crash_every else None
        last_report = t0
        db = client[DB]
        while True:
            posts = len(provider.posts())
            if posts >= count:
                settled = db.notifications.count_documents({"status": {"$in": ["sent", "delivered"]}})
                if settled >= count:
                    break
            now = time.monotonic()
            # Only a worker that is taking jobs: killing one still starting up (slower than the
            # kill interval on a loaded machine) would test nothing and stall the run.
            working = {w.pid for w in Worker.all(connection=connection)} if next_kill and now >= next_kill and posts < count else set()
            candidates = [p for p in procs if p.process.pid in working]
            if candidates:
                victim = random.choice(candidates)
                os.kill(victim.process.pid, signal.SIGKILL)
                victim.process.wait()
                procs.remove(victim)
                procs.append(start_engage("worker", env, tmp))
                kills += 1
                next_kill = now + crash_every
            if now - last_report > 5:
                print(f"  {label}: {posts} requests after {now - t0:.1f}s", flush=True)
                last_report = now
            if now - t0 > 600:
                print("  giving up after 600 s", flush=True)
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        by_number = Counter(r.to for r in provider.posts())
        duplicates = sum(n - 1 for n in by_number.values() if n > 1)
        losses = sum(1 for i in range(count) if by_number.get(phone(i), 0) == 0)
        statuses = Counter(d["status"] for d in db.notifications.find({}, {"status": 1}))
        return {"run": label, "workers": workers, "count": count, "seconds": round(elapsed, 2), "per_second": round(count / elapsed),
                "requests": sum(by_number.values()), "duplicates": duplicates, "losses": losses, "kills": kills, "statuses": dict(statuses)}
    finally:
        scheduler.stop()
        for proc in procs:
            proc.stop()
        provider.stop()
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--runs", nargs="+", default=["1", "2", "crash"])
    parser.add_argument("--crash-every", type=float, default=3.0, help="seconds between SIGKILLs in the crash run")
    parser.add_argument("--batch", default="100", help="ENGAGE_NOTIFICATION_BATCH_SIZE (notifications per send job)")
    parser.add_argument("--concurrency", default="32", help="ENGAGE_NOTIFICATION_CONCURRENCY (provider calls in flight per job)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    mongo = start_mongo(":memory:")
    redis = start_redis(tmp / "redis")
    base = engage_env(mongo.url, redis.url, ENGAGE_DB_NAME=DB)
    # Workers and the scheduler refuse a database that was not migrated, as in production.
    migrated = run_app(base, "migrate")
    if migrated.returncode != 0:
        print(migrated.stdout + migrated.stderr, file=sys.stderr)
        return 1
    results = []
    tuning = {"ENGAGE_NOTIFICATION_BATCH_SIZE": args.batch, "ENGAGE_NOTIFICATION_CONCURRENCY": args.concurrency}
    try:
        for name in args.runs:
            if name == "crash":
                result = run("crash (2 workers)", 2, args.count, args.crash_every, base, tmp, tuning)
            else:
                result = run(f"{name} worker(s)", int(name), args.count, None, base, tmp, tuning)
            print(result, flush=True)
            results.append(result)
    finally:
        redis.stop()
        mongo.stop()
    print("\n| run | notifications | seconds | sent/s | duplicates | losses | workers killed |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['run']} | {r['count']} | {r['seconds']} | {r['per_second']} | {r['duplicates']} | {r['losses']} | {r['kills']} |")
    return 0 if all(r["duplicates"] == 0 and r["losses"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
