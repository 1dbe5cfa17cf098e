"""Checkout never oversells across web processes, and the ledger always agrees with the items."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from datetime import UTC
from datetime import datetime

from bson import ObjectId

from engage import extensions
from engage.models.pharmacy import PharmacyItem
from engage.models.pharmacy import PharmacyOrder
from engage.models.pharmacy import StockEntry
from tests.clients import Api
from tests.pharmacy_support import add_item
from tests.pharmacy_support import checkout
from tests.pharmacy_support import fill_cart
from tests.pharmacy_support import make_pharmacy
from tests.waiting import wait_until

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)  # a hold that ran out: the next scan releases the order


async def many_patients(make_patient, count: int) -> list:
    gate = asyncio.Semaphore(4)

    async def one():
        async with gate:
            return await make_patient()

    return await asyncio.gather(*(one() for _ in range(count)))


async def test_100_concurrent_checkouts_for_the_last_10_units_on_two_web_processes_give_10_orders(
    api, admin, make_doctor, make_patient, http_session, web2, db
):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    item = await add_item(api, pharmacy, stock=10)
    patients = await many_patients(make_patient, 100)
    for patient in patients:
        await fill_cart(api, patient, pharmacy, (item, 1))
    other = Api(http_session, web2.url)
    results = await asyncio.gather(*(checkout(api if i % 2 else other, p, pharmacy) for i, p in enumerate(patients)))
    statuses = Counter(r.status for r in results)
    assert statuses == {201: 10, 409: 90}, statuses
    assert {r.error_code for r in results if r.status == 409} == {"out_of_stock"}
    assert all(r.body["items"][0]["item_id"] == item["id"] for r in results if r.status == 409)
    stored = await PharmacyItem.get(item["id"])
    assert (stored.stock, stored.reserved) == (0, 10)
    assert await PharmacyOrder.find({"clinic_id": ObjectId(pharmacy.clinic_id)}).count() == 10


async def ledger_agrees(item_ids: list[str]) -> None:
    open_held: Counter = Counter()
    for order in await PharmacyOrder.find({"lines.item_id": {"$in": [ObjectId(i) for i in item_ids]}, "status": {"$in": ["placed", "ready"]}}).to_list():
        for line in order.lines:
            open_held[str(line.item_id)] += line.quantity
    for item_id in item_ids:
        item = await PharmacyItem.get(item_id)
        entries = await StockEntry.find({"item_id": ObjectId(item_id)}).to_list()
        assert item.stock >= 0 and item.reserved >= 0
        assert (sum(e.delta_stock for e in entries), sum(e.delta_reserved for e in entries)) == (item.stock, item.reserved), item_id
        assert item.reserved == open_held[item_id], item_id


async def test_a_random_run_of_checkouts_cancellations_and_expiries_leaves_ledger_and_items_in_agreement(
    api, admin, make_doctor, make_patient, http_session, web2, worker, settings, db
):
    rng = random.Random(21)
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    items = [await add_item(api, pharmacy, stock=rng.randint(3, 8)) for _ in range(3)]
    patients = await many_patients(make_patient, 12)
    apis = [api, Api(http_session, web2.url)]
    desk = pharmacy.pharmacist.access_token
    queue = extensions.queue("default", extensions.sync_redis(settings))
    outcomes: Counter = Counter()

    async def shopper(patient) -> None:
        for _ in range(4):
            chosen = rng.sample(items, rng.randint(1, 2))
            await fill_cart(api, patient, pharmacy, *[(item, rng.randint(1, 3)) for item in chosen])
            resp = await checkout(rng.choice(apis), patient, pharmacy)
            outcomes[resp.status] += 1
            assert resp.status == 201 or resp.error_code == "out_of_stock", resp.body
            if resp.status != 201:
                continue
            order_id, roll = resp.body["order"]["id"], rng.random()
            if roll < 0.3:
                assert (await rng.choice(apis).post(f"/api/orders/{order_id}/cancel", token=patient.access_token)).status == 200
            elif roll < 0.5:
                await PharmacyOrder.get_pymongo_collection().update_one({"_id": ObjectId(order_id)}, {"$set": {"hold_until": LONG_AGO}})
            elif roll < 0.7:
                assert (await api.post(f"/api/orders/{order_id}/ready", token=desk)).status == 200
                assert (await api.post(f"/api/orders/{order_id}/collected", token=desk)).status == 200
            elif roll < 0.8:
                assert (await api.post(f"/api/orders/{order_id}/cancel", {"reason": "out of date"}, token=desk)).status == 200

    async def restocker() -> None:
        for _ in range(6):
            item = rng.choice(items)
            assert (await api.post(f"/api/pharmacy/items/{item['id']}/stock", {"kind": "received", "quantity": rng.randint(1, 4)}, token=desk)).status == 201
            await asyncio.to_thread(queue.enqueue, "workers.pharmacy.release_expired_orders")

    await asyncio.gather(restocker(), *(shopper(p) for p in patients))
    job = await asyncio.to_thread(queue.enqueue, "workers.pharmacy.release_expired_orders")
    await wait_until(lambda: job.get_status(refresh=True) == "finished", 60, what="the release job finished")
    assert outcomes[201] and outcomes[409], outcomes  # the run did meet contention
    assert await PharmacyOrder.find({"clinic_id": ObjectId(pharmacy.clinic_id), "cancel_reason": "not collected in time"}).count() > 0
    await ledger_agrees([item["id"] for item in items])
