"""The pharmacy: catalogue and stock through the ledger, cart, checkout (all lines or none,
prescriptions, idempotency), the order's states with events and notifications, low-stock alerts
and the release of orders not collected in time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from bson import ObjectId

from engage import extensions
from engage.lib.notification_templates import render_notification
from engage.models.notification import Notification
from engage.models.pharmacy import PharmacyItem
from engage.models.pharmacy import PharmacyOrder
from engage.models.pharmacy import StockEntry
from schemas.pharmacy import CartEnvelope
from schemas.pharmacy import LowStockEvent
from schemas.pharmacy import OrderEnvelope
from schemas.pharmacy import OrderUpdatedEvent
from tests.pharmacy_support import add_item
from tests.pharmacy_support import checkout
from tests.pharmacy_support import fill_cart
from tests.pharmacy_support import make_pharmacy
from tests.vitals_helpers import relate
from tests.waiting import wait_until


pytestmark = pytest.mark.usefixtures("db")  # the ledger and orders are read from the database.


async def stock_of(item_id: str) -> tuple[int, int]:
    item = await PharmacyItem.get(item_id)
    return item.stock, item.reserved


async def ledger(item_id: str) -> list[StockEntry]:
    return await StockEntry.find({"item_id": ObjectId(item_id)}).sort("at").to_list()


async def test_search_finds_items_by_every_word_and_patients_do_not_see_reservations(api, admin, make_doctor, make_patient):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    await add_item(api, pharmacy, name="Amoxicillin", form="capsule", strength="250 mg")
    await add_item(api, pharmacy, name="Amoxicillin", form="syrup", strength="125 mg/5 mL")
    await add_item(api, pharmacy, name="Ibuprofen", form="tablet", strength="200 mg")
    patient = await make_patient()
    resp = await api.get(f"/api/clinics/{pharmacy.clinic_id}/pharmacy/items", params={"q": "amoxi caps"}, token=patient.access_token)
    assert resp.status == 200, resp.body
    assert [(i["name"], i["form"]) for i in resp.body["items"]] == [("Amoxicillin", "capsule")]
    assert resp.body["items"][0]["reserved"] is None and resp.body["items"][0]["in_stock"] is True
    staff = await api.get(f"/api/clinics/{pharmacy.clinic_id}/pharmacy/items", params={"q": "(["}, token=pharmacy.pharmacist.access_token)
    assert staff.status == 200 and staff.body["items"] == []  # regex characters are searched literally


async def test_checkout_reserves_the_cart_with_decimal_totals_and_empties_it(api, admin, make_doctor, make_patient):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    a, b = await add_item(api, pharmacy, stock=10, price="2.10"), await add_item(api, pharmacy, stock=5, price="0.35")
    patient = await make_patient()
    cart = await fill_cart(api, patient, pharmacy, (a, 3), (b, 1))
    CartEnvelope.model_validate({"cart": cart})
    assert cart["total"] == "6.65"  # 3 x 2.10 + 0.35, no float drift
    resp = await checkout(api, patient, pharmacy)
    assert resp.status == 201, resp.body
    order = OrderEnvelope.model_validate(resp.body).order
    assert (order.status, order.total, order.currency) == ("placed", "6.65", "USD")
    assert await stock_of(a["id"]) == (7, 3) and await stock_of(b["id"]) == (4, 1)
    assert [(e.kind, e.delta_stock, e.delta_reserved) for e in await ledger(a["id"])] == [("received", 10, 0), ("reserved", -3, 3)]
    assert (await api.get("/api/me/cart", token=patient.access_token)).body["cart"]["lines"] == []


async def test_the_same_client_id_orders_once(api, admin, make_doctor, make_patient):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    item = await add_item(api, pharmacy, stock=10)
    patient = await make_patient()
    await fill_cart(api, patient, pharmacy, (item, 2))
    client_id = uuid.uuid4().hex
    first, again = await checkout(api, patient, pharmacy, client_id), await checkout(api, patient, pharmacy, client_id)
    assert (first.status, again.status) == (201, 200)
    assert first.body["order"]["id"] == again.body["order"]["id"]
    assert await stock_of(item["id"]) == (8, 2)


async def test_out_of_stock_reserves_no_line_and_names_the_item(api, admin, make_doctor, make_patient):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    plenty, scarce = await add_item(api, pharmacy, stock=10), await add_item(api, pharmacy, stock=1)
    patient = await make_patient()
    await fill_cart(api, patient, pharmacy, (plenty, 2), (scarce, 2))
    resp = await checkout(api, patient, pharmacy)
    assert resp.status == 409 and resp.error_code == "out_of_stock", resp.body
    assert resp.body["items"] == [{"item_id": scarce["id"], "name": scarce["name"], "requested": 2, "available": 1}]
    assert await stock_of(plenty["id"]) == (10, 0) and await stock_of(scarce["id"]) == (1, 0)
    assert await PharmacyOrder.find({"patient_id": ObjectId(patient.id)}).count() == 0
    assert len((await api.get("/api/me/cart", token=patient.access_token)).body["cart"]["lines"]) == 2  # kept for another try


async def test_prescription_only_items_need_an_active_prescription_and_dispensing_records_it(api, admin, make_doctor, make_patient):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    item = await add_item(api, pharmacy, name="Metformin", drug="Metformin", strength="500 mg", prescription_required=True)
    patient, doctor = await make_patient(), await make_doctor()
    await fill_cart(api, patient, pharmacy, (item, 1))
    refused = await checkout(api, patient, pharmacy)
    assert refused.status == 403 and refused.error_code == "prescription_required", refused.body
    await relate(doctor.id, patient.id)
    today = datetime.now(UTC).date()
    rx = {"drug": "Metformin XR", "dose": "500 mg", "times": ["08:00"], "start_date": str(today), "end_date": str(today + timedelta(days=30))}
    prescribed = await api.post(f"/api/patients/{patient.id}/prescriptions", rx, token=doctor.access_token)
    assert prescribed.status == 201, prescribed.body
    resp = await checkout(api, patient, pharmacy)
    assert resp.status == 201, resp.body
    order = resp.body["order"]
    assert order["lines"][0]["prescription_id"] == prescribed.body["prescription"]["id"]
    for step in ("ready", "collected"):
        assert (await api.post(f"/api/orders/{order['id']}/{step}", token=pharmacy.pharmacist.access_token)).status == 200
    dispensed = [e for e in await ledger(item["id"]) if e.kind == "dispensed"]
    assert [(e.quantity, str(e.prescription_id)) for e in dispensed] == [(1, prescribed.body["prescription"]["id"])]
    assert await stock_of(item["id"]) == (9, 0)
    # the dose schedule sees it: the prescription lists what was dispensed against it
    for reader in (patient, doctor):
        listed = await api.get(f"/api/patients/{patient.id}/prescriptions", token=reader.access_token)
        (entry,) = [p for p in listed.body["prescriptions"] if p["prescription"]["id"] == prescribed.body["prescription"]["id"]]
        assert [(d["quantity"], d["order_id"]) for d in entry["dispensed"]] == [(1, order["id"])]


async def test_order_states_emit_to_the_patient_and_the_pharmacists_and_notify_without_medication_names(
    api, admin, make_doctor, make_patient, connect, web2
):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    item = await add_item(api, pharmacy, name="Salbutamol inhaler", stock=5)
    patient = await make_patient()
    patient_socket = await connect(patient.access_token)
    desk_socket = await connect(pharmacy.pharmacist.access_token, url=web2.url)
    await fill_cart(api, patient, pharmacy, (item, 1))
    order_id = (await checkout(api, patient, pharmacy)).body["order"]["id"]
    for state in ("placed", "ready", "collected"):
        if state != "placed":
            assert (await api.post(f"/api/orders/{order_id}/{state}", token=pharmacy.pharmacist.access_token)).status == 200
        mine = await patient_socket.wait_for("order:updated", lambda e, s=state: e["order"]["id"] == order_id and e["order"]["status"] == s)
        desk = await desk_socket.wait_for("pharmacy:order", lambda e, s=state: e["order"]["id"] == order_id and e["order"]["status"] == s)
        OrderUpdatedEvent.model_validate(mine)
        assert OrderUpdatedEvent.model_validate(desk).order.patient_name
    notes = await Notification.find({"recipient_id": ObjectId(patient.id), "kind": {"$in": ["pharmacy_order_placed", "pharmacy_order_ready"]}}).to_list()
    assert {n.kind for n in notes} == {"pharmacy_order_placed", "pharmacy_order_ready"}
    for note in notes:
        rendered = render_notification(note.kind, "sms", note.context, "Pat", "UTC", None)
        assert "Salbutamol" not in rendered.text and "Salbutamol" not in str(note.context)
        assert ("ready for pickup" if note.kind == "pharmacy_order_ready" else "is placed") in rendered.text


async def test_the_patient_cancels_before_ready_and_the_pharmacist_with_a_reason(api, admin, make_doctor, make_patient):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    item = await add_item(api, pharmacy, stock=6)
    patient = await make_patient()
    await fill_cart(api, patient, pharmacy, (item, 2))
    first = (await checkout(api, patient, pharmacy)).body["order"]["id"]
    cancelled = await api.post(f"/api/orders/{first}/cancel", token=patient.access_token)
    assert cancelled.status == 200 and cancelled.body["order"]["status"] == "cancelled", cancelled.body
    assert await stock_of(item["id"]) == (6, 0)
    assert (await api.post(f"/api/orders/{first}/cancel", token=patient.access_token)).error_code == "invalid_state"

    await fill_cart(api, patient, pharmacy, (item, 2))
    second = (await checkout(api, patient, pharmacy)).body["order"]["id"]
    assert (await api.post(f"/api/orders/{second}/ready", token=pharmacy.pharmacist.access_token)).status == 200
    assert (await api.post(f"/api/orders/{second}/cancel", token=patient.access_token)).error_code == "invalid_state"
    no_reason = await api.post(f"/api/orders/{second}/cancel", token=pharmacy.pharmacist.access_token)
    assert no_reason.status == 422 and no_reason.body["error"]["field"] == "reason"
    done = await api.post(f"/api/orders/{second}/cancel", {"reason": "damaged pack"}, token=pharmacy.pharmacist.access_token)
    assert done.status == 200 and done.body["order"]["cancel_reason"] == "damaged pack"
    assert await stock_of(item["id"]) == (6, 0)
    assert [e.kind for e in await ledger(item["id"])] == ["received", "reserved", "released", "reserved", "released"]


async def test_other_patients_and_other_staff_cannot_touch_an_order(api, admin, make_doctor, make_patient):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    item = await add_item(api, pharmacy)
    patient, other, stranger = await make_patient(), await make_patient(), await make_doctor()
    await fill_cart(api, patient, pharmacy, (item, 1))
    order_id = (await checkout(api, patient, pharmacy)).body["order"]["id"]
    assert (await api.get(f"/api/orders/{order_id}", token=other.access_token)).status == 404
    assert (await api.post(f"/api/orders/{order_id}/cancel", token=other.access_token)).status == 404
    assert (await api.post(f"/api/orders/{order_id}/ready", token=stranger.access_token)).status == 403
    assert (await api.post(f"/api/pharmacy/items/{item['id']}/stock", {"kind": "received", "quantity": 5}, token=stranger.access_token)).status == 403


async def test_stock_never_goes_negative_and_adjustments_need_a_reason(api, admin, make_doctor):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    item = await add_item(api, pharmacy, stock=3)
    path, token = f"/api/pharmacy/items/{item['id']}/stock", pharmacy.pharmacist.access_token
    assert (await api.post(path, {"kind": "adjusted", "quantity": -4, "reason": "count"}, token=token)).error_code == "insufficient_stock"
    assert (await api.post(path, {"kind": "adjusted", "quantity": -1}, token=token)).status == 422
    assert (await api.post(path, {"kind": "received", "quantity": -1}, token=token)).status == 422
    resp = await api.post(path, {"kind": "adjusted", "quantity": -3, "reason": "expired stock"}, token=token)
    assert resp.status == 201 and resp.body["item"]["stock"] == 0 and resp.body["entry"]["reason"] == "expired stock"


async def test_low_stock_alerts_the_pharmacists_once_until_restocked(api, admin, make_doctor, make_patient, connect):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    item = await add_item(api, pharmacy, stock=6, low_stock_threshold=5)
    desk = await connect(pharmacy.pharmacist.access_token)
    patient = await make_patient()
    for _ in range(3):  # 6 -> 5 (at the threshold: no alert) -> 4 (alert) -> 3 (already alerted)
        await fill_cart(api, patient, pharmacy, (item, 1))
        assert (await checkout(api, patient, pharmacy)).status == 201
    alert = await desk.wait_for("pharmacy:low_stock", lambda e: e["item"]["id"] == item["id"])
    assert LowStockEvent.model_validate(alert).item.stock == 4
    path = f"/api/pharmacy/items/{item['id']}/stock"
    assert (await api.post(path, {"kind": "received", "quantity": 10}, token=pharmacy.pharmacist.access_token)).status == 201
    assert (await api.post(path, {"kind": "adjusted", "quantity": -10, "reason": "recall"}, token=pharmacy.pharmacist.access_token)).status == 201
    await desk.wait_for("pharmacy:low_stock", lambda e: e["item"]["id"] == item["id"] and e["item"]["stock"] == 3)
    assert [e["item"]["stock"] for e in desk.received("pharmacy:low_stock") if e["item"]["id"] == item["id"]] == [4, 3]
    notes = await Notification.find({"recipient_id": ObjectId(pharmacy.pharmacist.id), "kind": "pharmacy_low_stock"}).to_list()
    assert len({n.idempotency_key for n in notes}) == 2


async def test_orders_not_collected_in_time_are_released_by_the_scan(api, admin, make_doctor, make_patient, worker, settings):
    pharmacy = await make_pharmacy(api, admin, make_doctor)
    item = await add_item(api, pharmacy, stock=4)
    patient = await make_patient()
    await fill_cart(api, patient, pharmacy, (item, 3))
    order = (await checkout(api, patient, pharmacy)).body["order"]
    placed_at = datetime.fromisoformat(order["placed_at"])
    assert datetime.fromisoformat(order["hold_until"]) - placed_at == timedelta(days=settings.order_hold_days)
    await PharmacyOrder.get_pymongo_collection().update_one({"_id": ObjectId(order["id"])}, {"$set": {"hold_until": datetime.now(UTC) - timedelta(seconds=1)}})
    queue = extensions.queue("default", extensions.sync_redis(settings))
    await asyncio.to_thread(queue.enqueue, "workers.pharmacy.release_expired_orders")
    await wait_until(lambda: PharmacyOrder.find_one({"_id": ObjectId(order["id"]), "status": "cancelled"}), 30, what="the order released")
    assert (await PharmacyOrder.get(order["id"])).cancel_reason == "not collected in time"
    assert await stock_of(item["id"]) == (4, 0)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/me/cart", {"lines": [{"item_id": "nope", "quantity": 1}]}),
        ("/api/me/cart", {"lines": [{"item_id": "5f1d7f0f0f0f0f0f0f0f0f0f", "quantity": 0}]}),
        ("/api/orders", {"clinic_id": "5f1d7f0f0f0f0f0f0f0f0f0f", "client_id": "short"}),
    ],
)
async def test_bad_cart_and_checkout_requests_are_refused_with_the_field(api, make_patient, path, body):
    patient = await make_patient()
    method = api.put if path == "/api/me/cart" else api.post
    resp = await method(path, body, token=patient.access_token)
    assert resp.status == 422, resp.body
    assert resp.body["error"].get("field")
