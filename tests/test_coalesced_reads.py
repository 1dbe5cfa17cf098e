"""Reads that concurrent requests ask for together go to the database as one query
(engage/lib/coalesced_reads.py): each caller still gets its own answer, and nothing is cached."""

from __future__ import annotations

import asyncio

import pytest

from engage.lib.coalesced_reads import MAX_KEYS_PER_QUERY
from engage.lib.coalesced_reads import CoalescedReads


class Store:
    """A read_many over a dict that records every list of keys it was asked for."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.queries: list[list[str]] = []
        self.failing = False

    async def read_many(self, keys: list[str]) -> list[str | None]:
        self.queries.append(list(keys))
        await asyncio.sleep(0)  # a database round trip yields to the loop
        if self.failing:
            raise ConnectionError("database unavailable")
        return [self.values.get(key) for key in keys]


async def test_reads_asked_for_in_one_turn_share_queries_of_at_most_the_bound():
    store = Store()
    store.values = {f"k{n}": f"v{n}" for n in range(45)}
    reads = CoalescedReads(store.read_many)
    keys = [f"k{n}" for n in range(45)] + ["k3", "missing"]

    got = await asyncio.gather(*(reads.load(key) for key in keys))

    assert got == [store.values.get(key) for key in keys]
    assert sorted(len(q) for q in store.queries) == [7, MAX_KEYS_PER_QUERY, MAX_KEYS_PER_QUERY]
    assert sorted(k for q in store.queries for k in q) == sorted(keys)


async def test_a_read_alone_is_one_query_and_sees_the_current_value():
    store = Store()
    store.values = {"k": "old"}
    reads = CoalescedReads(store.read_many)

    assert await reads.load("k") == "old"
    store.values["k"] = "new"
    assert await reads.load("k") == "new"  # no cache between reads
    assert store.queries == [["k"], ["k"]]


async def test_a_failed_query_fails_every_read_it_served_and_the_next_reads_work():
    store = Store()
    store.values = {"a": "1", "b": "2"}
    reads = CoalescedReads(store.read_many)
    store.failing = True

    results = await asyncio.gather(reads.load("a"), reads.load("b"), return_exceptions=True)

    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    store.failing = False
    assert await asyncio.gather(reads.load("a"), reads.load("b")) == ["1", "2"]


@pytest.mark.usefixtures("db")
async def test_many_requests_at_once_each_get_their_own_user(api, make_patient, make_doctor):
    """Users read together in one query (engage/lib/users.py) are never handed to the wrong request."""
    accounts = [await make_patient() for _ in range(12)] + [await make_doctor() for _ in range(4)]
    callers = accounts * 3  # each user's requests also arrive together

    answers = await asyncio.gather(*(api.get("/api/me", token=account.access_token) for account in callers))

    for account, answer in zip(callers, answers):
        assert answer.status == 200, answer.body
        assert (answer.body["user"]["id"], answer.body["user"]["role"]) == (account.id, account.role)
