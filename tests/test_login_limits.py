"""Failed logins are counted before the password is checked, per account and per client address;
password hashing runs off the event loop."""

from __future__ import annotations

import asyncio
import itertools
import os

import aiohttp
import pytest

from tests.clients import Api
from tests.clients import unique_email
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import register

# Each test logs in from its own loopback address, so per-address counters of other tests
# (which share Redis) never interfere.
_addresses = itertools.count(2 + os.getpid() % 200)


@pytest.fixture
async def from_own_address(web):
    """An Api whose requests come from a loopback address no other test uses."""
    n = next(_addresses)
    address = f"127.{(n // 250) % 250 + 1}.{n % 250 + 1}.{os.getpid() % 250 + 1}"
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=60),
        connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=0, keepalive_timeout=2),
    )
    yield Api(session, web.url)
    await session.close()


async def test_parallel_wrong_passwords_are_counted_before_the_check(api, from_own_address):
    """40 wrong passwords at once: at most the limit (10) are checked, the rest are refused."""
    user = await register(api)
    answers = await asyncio.gather(
        *[from_own_address.post("/api/auth/login", {"email": user["email"], "password": "wrong-password-1"}) for _ in range(40)]
    )
    statuses = [a.status for a in answers]
    assert statuses.count(401) <= 10, statuses
    assert statuses.count(401) + statuses.count(429) == 40, statuses
    for answer in answers:
        if answer.status == 429:
            assert answer.error_code == "too_many_attempts"
            assert int(answer.headers["Retry-After"]) >= 1
    # The right password is refused too while the account is locked.
    locked = await from_own_address.post("/api/auth/login", {"email": user["email"], "password": DEFAULT_PASSWORD})
    assert locked.status == 429


@pytest.mark.parametrize("forwarded_for", [False, True])
async def test_failures_from_one_address_are_limited_across_accounts(from_own_address, forwarded_for):
    """Guessing one password each for many accounts from one address stops at the address limit (50),
    whatever X-Forwarded-For the client claims (only a configured proxy's is believed)."""

    def headers(n: int) -> dict[str, str]:
        return {"X-Forwarded-For": f"198.51.100.{n}"} if forwarded_for else {}

    answers = await asyncio.gather(
        *[from_own_address.post("/api/auth/login", {"email": unique_email(), "password": "wrong-password-1"}, headers=headers(n)) for n in range(60)]
    )
    statuses = [a.status for a in answers]
    assert statuses.count(401) == 50, statuses
    assert statuses.count(429) == 10, statuses
    refused = next(a for a in answers if a.status == 429)
    assert refused.error_code == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) >= 1


async def test_successful_logins_do_not_use_up_the_address_limit(api, from_own_address):
    """Colleagues behind one address log in all day: only failures count against it (limit 50)."""
    colleagues = [await register(api) for _ in range(6)]
    for _ in range(2):  # 60 logins in all, at most 30 at a time
        ok = await asyncio.gather(
            *[from_own_address.post("/api/auth/login", {"email": c["email"], "password": DEFAULT_PASSWORD}) for c in colleagues for _ in range(5)]
        )
        assert [a.status for a in ok] == [200] * 30
    wrong = await asyncio.gather(
        *[from_own_address.post("/api/auth/login", {"email": unique_email(), "password": "wrong-password-1"}) for _ in range(25)]
    )
    assert [a.status for a in wrong] == [401] * 25


async def test_a_login_storm_does_not_stall_the_web_process(api, from_own_address):
    """While 50 logins wait for password hashing, /healthz keeps answering (off the event loop).

    Order, not time: the storm's hashing takes many hash-lengths, so a health check sent
    after the storm started comes back before most of the logins do. With hashing on the event
    loop it waits behind them. (The p99 figure is bench/login_storm.py's.)"""
    done: list[int] = []

    async def one_login() -> int:
        answer = await from_own_address.post("/api/auth/login", {"email": unique_email(), "password": "wrong-password-1"})
        done.append(answer.status)
        return answer.status

    storm = [asyncio.create_task(one_login()) for _ in range(50)]
    health_answers: list[tuple[int, int]] = []  # (status, logins answered by then)
    while not all(task.done() for task in storm):
        health = await api.get("/healthz")
        health_answers.append((health.status, len(done)))
    statuses = await asyncio.gather(*storm)
    assert set(statuses) <= {401, 429}, statuses
    assert len(statuses) == 50
    assert health_answers and all(status == 200 for status, _ in health_answers)
    # Several health checks were answered while most of the storm was still waiting.
    answered_early = [n for _, n in health_answers if n < 25]
    assert len(answered_early) >= 5, health_answers
