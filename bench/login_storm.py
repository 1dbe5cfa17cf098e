"""Login storm: how fast /healthz answers while many logins wait for password hashing.

    python -m bench.login_storm [--logins 50] [--rounds 5] [--hash-concurrency 2]

Starts its own embedded MongoDB-compatible server, redis-server and one Engage web process on
free loopback ports, and stops them at the end. Each round sends --logins logins with wrong
passwords at once (known and unknown emails, so every one costs an argon2 verification) while
one client asks /healthz back to back; it prints the health checks' latency during the storms.
argon2 runs in a thread pool of ENGAGE_PASSWORD_HASH_CONCURRENCY threads, off the event loop
(engage/lib/passwords.py); with it on the event loop /healthz took seconds (issue 16).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engage.embedded import start_mongo  # noqa: E402
from engage.embedded import start_redis  # noqa: E402
from tests.servers import engage_env  # noqa: E402
from tests.servers import start_engage  # noqa: E402

PASSWORD = "bench-password-42"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def storm(http: aiohttp.ClientSession, url: str, emails: list[str]) -> tuple[list[float], list[int], float]:
    """One storm: every login at once, /healthz back to back until the last login is answered."""

    async def login(email: str) -> int:
        async with http.post(f"{url}/api/auth/login", json={"email": email, "password": "wrong-password-1"}) as r:
            await r.read()
            return r.status

    started = time.perf_counter()
    logins = [asyncio.create_task(login(email)) for email in emails]
    health_ms: list[float] = []
    while not all(task.done() for task in logins):
        t0 = time.perf_counter()
        async with http.get(f"{url}/healthz") as r:
            await r.read()
            assert r.status == 200, r.status
        health_ms.append((time.perf_counter() - t0) * 1000)
    statuses = await asyncio.gather(*logins)
    return health_ms, statuses, time.perf_counter() - started


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="engage-bench-"))
    mongo = start_mongo(":memory:")
    redis = start_redis(tmp / "redis")
    # The login limits would turn most of a storm into cheap 429s: lift them to measure hashing.
    env = engage_env(
        mongo.url, redis.url, ENGAGE_LOG_LEVEL="error", ENGAGE_LOGIN_MAX_FAILURES="1000000",
        ENGAGE_LOGIN_MAX_FAILURES_PER_ADDRESS="1000000", ENGAGE_PASSWORD_HASH_CONCURRENCY=str(args.hash_concurrency),
    )
    web = start_engage("web", env, tmp)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            known = []
            for n in range(10):
                email = f"bench-{n}-{os.urandom(3).hex()}@example.org"
                async with http.post(f"{web.url}/api/auth/register", json={"email": email, "password": PASSWORD, "name": f"Bench {n}", "role": "patient"}) as r:
                    assert r.status == 201, await r.text()
                known.append(email)
            # The same health checks without a storm: what the machine gives anyway.
            quiet_ms: list[float] = []
            quiet_until = time.perf_counter() + args.quiet_seconds
            while time.perf_counter() < quiet_until:
                t0 = time.perf_counter()
                async with http.get(f"{web.url}/healthz") as r:
                    await r.read()
                quiet_ms.append((time.perf_counter() - t0) * 1000)
            print(f"no storm: /healthz x{len(quiet_ms)} p50 {percentile(quiet_ms, 50):.1f} ms  p99 {percentile(quiet_ms, 99):.1f} ms  max {max(quiet_ms):.1f} ms")
            all_health: list[float] = []
            durations: list[float] = []
            for round_no in range(args.rounds):
                emails = [known[i % len(known)] if i % 2 else f"nobody-{round_no}-{i}-{os.urandom(3).hex()}@example.org" for i in range(args.logins)]
                health_ms, statuses, duration = await storm(http, web.url, emails)
                assert set(statuses) == {401}, statuses
                all_health += health_ms
                durations.append(duration)
                print(f"round {round_no + 1}: {args.logins} logins in {duration:.2f} s; /healthz x{len(health_ms)} "
                      f"p50 {percentile(health_ms, 50):.1f} ms  p99 {percentile(health_ms, 99):.1f} ms  max {max(health_ms):.1f} ms")
            print(f"all rounds (hash concurrency {args.hash_concurrency}): {args.logins} logins per storm in {sum(durations) / len(durations):.2f} s on average; "
                  f"/healthz x{len(all_health)} p50 {percentile(all_health, 50):.1f} ms  p99 {percentile(all_health, 99):.1f} ms  max {max(all_health):.1f} ms")
    finally:
        web.stop()
        redis.stop()
        mongo.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logins", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hash-concurrency", type=int, default=2)
    parser.add_argument("--quiet-seconds", type=float, default=5.0, help="health checks without a storm first, for comparison")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
