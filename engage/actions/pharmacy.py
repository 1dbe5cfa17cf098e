"""The pharmacy: catalogue, stock through the ledger, cart, checkout and the order's life.

Checkout never oversells, whatever the number of web processes: one MongoDB transaction inserts
the order and, per line, decrements the item only where `stock >= quantity` and writes the ledger
entry. A line that cannot be reserved aborts the whole transaction (all lines or none); a write
conflict with a concurrent checkout is retried. Stock counters and ledger entries change in the
same transaction, so they always agree.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from decimal import Decimal
from typing import Any
from typing import TypeVar

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from engage.actions.notifications import request_notification
from engage.config import get_settings
from engage.errors import ApiError
from engage.errors import forbidden
from engage.lib.clinic_staff import PHARMACY_ROLES
from engage.lib.clinic_staff import check_clinic_scope
from engage.lib.clinic_staff import is_clinic_staff
from engage.errors import not_found
from engage.events import publish_to_users
from engage.models.base import utcnow
from engage.models.clinic import Clinic
from engage.models.medication import Prescription
from engage.models.pharmacy import OPEN_ORDER_STATES
from engage.models.pharmacy import Cart
from engage.models.pharmacy import CartLine
from engage.models.pharmacy import OrderLine
from engage.models.pharmacy import PharmacyItem
from engage.models.pharmacy import PharmacyOrder
from engage.models.pharmacy import StockEntry
from engage.models.user import Role
from engage.models.user import User
from schemas.pharmacy import CancelOrderRequest
from schemas.pharmacy import CartLineOut
from schemas.pharmacy import CartOut
from schemas.pharmacy import CartPutRequest
from schemas.pharmacy import CheckoutRequest
from schemas.pharmacy import ItemCreateRequest
from schemas.pharmacy import ItemOut
from schemas.pharmacy import ItemSearchQuery
from schemas.pharmacy import LowStockEvent
from schemas.pharmacy import OrderLineOut
from schemas.pharmacy import OrderListQuery
from schemas.pharmacy import OrderOut
from schemas.pharmacy import OrderUpdatedEvent
from schemas.pharmacy import OutOfStockItem
from schemas.pharmacy import StockChangeRequest
from schemas.pharmacy import StockEntryOut

ORDER_UPDATED = "order:updated"
PHARMACY_ORDER = "pharmacy:order"
PHARMACY_LOW_STOCK = "pharmacy:low_stock"
CENTS = Decimal("0.01")

T = TypeVar("T")


class OutOfStock(Exception):
    """A line could not be reserved: the transaction aborts and nothing is reserved."""


# ---- helpers -----------------------------------------------------------------------------------


def money(minor: int) -> str:
    return str((Decimal(minor) / 100).quantize(CENTS))


def to_minor(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1)))


def _oid(value: str, what: str) -> PydanticObjectId:
    if not ObjectId.is_valid(str(value)):
        raise not_found(what)
    return PydanticObjectId(str(value))


def item_out(item: PharmacyItem, staff: bool = False) -> ItemOut:
    return ItemOut(
        id=str(item.id), clinic_id=str(item.clinic_id), name=item.name, drug=item.drug, form=item.form, strength=item.strength,
        pack_size=item.pack_size, price=money(item.price_minor), currency=item.currency, prescription_required=item.prescription_required,
        stock=item.stock, in_stock=item.stock > 0, low_stock_threshold=item.low_stock_threshold, reserved=item.reserved if staff else None,
    )


def order_out(order: PharmacyOrder, patient_name: str | None = None) -> OrderOut:
    lines = [
        OrderLineOut(item_id=str(line.item_id), name=line.name, form=line.form, strength=line.strength, pack_size=line.pack_size,
                     quantity=line.quantity, unit_price=money(line.unit_price_minor), line_total=money(line.unit_price_minor * line.quantity),
                     prescription_id=str(line.prescription_id) if line.prescription_id else None)
        for line in order.lines
    ]
    return OrderOut(
        id=str(order.id), patient_id=str(order.patient_id), patient_name=patient_name, clinic_id=str(order.clinic_id), client_id=order.client_id,
        status=order.status, lines=lines, total=money(order.total_minor), currency=order.currency, placed_at=order.placed_at,
        hold_until=order.hold_until, ready_at=order.ready_at, collected_at=order.collected_at, cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
    )


def entry_out(entry: dict[str, Any]) -> StockEntryOut:
    return StockEntryOut(id=str(entry["_id"]), item_id=str(entry["item_id"]), kind=entry["kind"], quantity=entry["quantity"],
                         delta_stock=entry["delta_stock"], delta_reserved=entry["delta_reserved"],
                         order_id=str(entry["order_id"]) if entry.get("order_id") else None, reason=entry.get("reason"), at=entry["at"])


async def in_transaction(body: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
    """Run body(session) in a transaction. pymongo's with_transaction runs it again on a transient
    error (a write conflict with a concurrent one), with jittered back-off, and retries a commit
    whose outcome is unknown; body must therefore be safe to run again."""
    client = PharmacyItem.get_pymongo_collection().database.client
    async with client.start_session() as session:
        return await session.with_transaction(body)


async def _move(
    session: AsyncClientSession, item_id: PydanticObjectId, clinic_id: PydanticObjectId, kind: str, quantity: int, delta_stock: int,
    delta_reserved: int, key: str, *, order_id: PydanticObjectId | None = None, prescription_id: PydanticObjectId | None = None,
    reason: str | None = None, by: PydanticObjectId | None = None,
) -> bool:
    """One ledger movement and the item's counters, in the caller's transaction; False when it would go negative."""
    condition: dict[str, Any] = {"_id": item_id}
    if delta_stock < 0:
        condition["stock"] = {"$gte": -delta_stock}
    if delta_reserved < 0:
        condition["reserved"] = {"$gte": -delta_reserved}
    now = utcnow()
    moved = await PharmacyItem.get_pymongo_collection().update_one(
        condition, {"$inc": {"stock": delta_stock, "reserved": delta_reserved}, "$set": {"updated_at": now}}, session=session
    )
    if moved.matched_count == 0:
        return False
    await StockEntry.get_pymongo_collection().insert_one(
        {"item_id": item_id, "clinic_id": clinic_id, "kind": kind, "quantity": quantity, "delta_stock": delta_stock, "delta_reserved": delta_reserved,
         "key": key, "order_id": order_id, "prescription_id": prescription_id, "reason": reason, "by": by, "at": now},
        session=session,
    )
    return True


async def pharmacist_ids(clinic_id: PydanticObjectId) -> list[str]:
    """The clinic's pharmacists (active accounts): who hears of its orders and low stock."""
    rows = await User.get_pymongo_collection().find(
        {"role": Role.pharmacist.value, "clinic_id": {"$in": [clinic_id, str(clinic_id)]}, "active": {"$ne": False}}, projection={"_id": 1}
    ).to_list(None)
    return [str(row["_id"]) for row in rows]


async def access_clinic(clinic_id: str) -> Clinic:
    clinic = await Clinic.get(_oid(clinic_id, "Clinic"))
    if clinic is None:
        raise not_found("Clinic")
    return clinic


async def access_pharmacy_desk(user_id: str, role: str, clinic_id: str) -> Clinic:
    """The clinic whose pharmacy the user works: its pharmacist (clinic staff), or a platform admin."""
    clinic = await access_clinic(clinic_id)
    user = await User.get(PydanticObjectId(user_id))
    if user is None:
        raise forbidden("Only the clinic's pharmacists can do this.")
    check_clinic_scope(user, str(clinic.id), PHARMACY_ROLES)
    return clinic


async def access_item(item_id: str) -> PharmacyItem:
    item = await PharmacyItem.get(_oid(item_id, "Item"))
    if item is None or not item.active:
        raise not_found("Item")
    return item


# ---- low stock ---------------------------------------------------------------------------------


async def _after_stock_change(item_ids: list[PydanticObjectId]) -> None:
    """Tell the pharmacists once when an item falls below its threshold; re-arm once it is back at or above it."""
    for item in await PharmacyItem.find({"_id": {"$in": item_ids}}).to_list():
        if item.low_stock_threshold <= 0:
            continue
        if item.stock >= item.low_stock_threshold:
            await PharmacyItem.get_pymongo_collection().update_one(
                {"_id": item.id, "low_stock_alerted": True, "stock": {"$gte": item.low_stock_threshold}}, {"$set": {"low_stock_alerted": False}}
            )
            continue
        claimed = await PharmacyItem.get_pymongo_collection().find_one_and_update(
            {"_id": item.id, "low_stock_alerted": False, "stock": {"$lt": item.low_stock_threshold}}, {"$set": {"low_stock_alerted": True}},
            return_document=ReturnDocument.AFTER,
        )
        if claimed is None:
            continue  # already told, or restocked meanwhile
        low = PharmacyItem.model_validate(claimed)
        staff = await pharmacist_ids(low.clinic_id)
        await publish_to_users(PHARMACY_LOW_STOCK, LowStockEvent(item=item_out(low, staff=True)), staff)
        episode = (await StockEntry.find({"item_id": low.id}).count())  # one alert per low-stock episode
        for pharmacist in staff:
            await request_notification(recipient_id=pharmacist, kind="pharmacy_low_stock", idempotency_key=f"pharmacy_low_stock:{low.id}:{episode}:{pharmacist}",
                                       context={"item_id": str(low.id), "item_name": low.name, "stock": low.stock, "threshold": low.low_stock_threshold})


# ---- catalogue and stock -----------------------------------------------------------------------


async def check_search_items(user_id: str, role: str, clinic_id: str, query: ItemSearchQuery) -> list[ItemOut]:
    """A clinic's active items whose name, form or strength contains every word searched."""
    clinic = await access_clinic(clinic_id)
    condition: dict[str, Any] = {"clinic_id": clinic.id, "active": True}
    words = (query.q or "").lower().split()
    if words:
        condition["$and"] = [{"name_key": {"$regex": _regex_escape(w)}} for w in words[:5]]
    items = await PharmacyItem.find(condition).sort("name_key").limit(query.limit).to_list()
    staff = role in (Role.admin.value, Role.pharmacist.value) and is_clinic_staff(await User.get(PydanticObjectId(user_id)), str(clinic.id), PHARMACY_ROLES)
    return [item_out(item, staff=staff) for item in items]


def _regex_escape(word: str) -> str:
    return "".join(f"\\{c}" if not c.isalnum() else c for c in word)


async def check_create_item(user_id: str, role: str, clinic_id: str, request: ItemCreateRequest) -> ItemOut:
    """Add an item to the clinic's catalogue; initial stock arrives as a received ledger entry."""
    clinic = await access_pharmacy_desk(user_id, role, clinic_id)
    drug = request.drug or request.name
    item = PharmacyItem(
        clinic_id=clinic.id, name=request.name, name_key=f"{request.name} {drug} {request.form} {request.strength}".lower(), drug=drug,
        form=request.form, strength=request.strength, pack_size=request.pack_size, price_minor=to_minor(Decimal(request.price)), currency=request.currency,
        prescription_required=request.prescription_required, low_stock_threshold=request.low_stock_threshold,
    )
    await item.insert()
    if request.initial_stock:
        await do_change_stock(item, "received", request.initial_stock, None, PydanticObjectId(user_id))
    return item_out(await PharmacyItem.get(item.id), staff=True)


async def do_change_stock(item: PharmacyItem, kind: str, quantity: int, reason: str | None, by: PydanticObjectId) -> dict[str, Any]:
    """A delivery or an adjustment; an adjustment below zero is refused (409 insufficient_stock)."""
    key = f"manual:{uuid.uuid4().hex}"

    async def body(session: AsyncClientSession) -> bool:
        return await _move(session, item.id, item.clinic_id, kind, abs(quantity), quantity, 0, key, reason=reason, by=by)

    if not await in_transaction(body):
        raise ApiError(409, "insufficient_stock", f"Only {item.stock} available: stock cannot go below zero.", field="quantity")
    await _after_stock_change([item.id])
    return await StockEntry.get_pymongo_collection().find_one({"key": key})


async def check_change_stock(user_id: str, role: str, item_id: str, request: StockChangeRequest) -> tuple[ItemOut, StockEntryOut]:
    item = await access_item(item_id)
    await access_pharmacy_desk(user_id, role, str(item.clinic_id))
    entry = await do_change_stock(item, request.kind, request.quantity, request.reason, PydanticObjectId(user_id))
    return item_out(await PharmacyItem.get(item.id), staff=True), entry_out(entry)


# ---- cart --------------------------------------------------------------------------------------


async def cart_out(cart: Cart | None) -> CartOut:
    if cart is None or not cart.lines:
        return CartOut(clinic_id=str(cart.clinic_id) if cart and cart.clinic_id else None, lines=[], total="0.00", currency=None)
    items = {i.id: i for i in await PharmacyItem.find({"_id": {"$in": [line.item_id for line in cart.lines]}}).to_list()}
    lines = [CartLineOut(item=item_out(items[line.item_id]), quantity=line.quantity, line_total=money(items[line.item_id].price_minor * line.quantity))
             for line in cart.lines if line.item_id in items]
    total = sum(items[line.item_id].price_minor * line.quantity for line in cart.lines if line.item_id in items)
    currency = next(iter(items.values())).currency if items else None
    return CartOut(clinic_id=str(cart.clinic_id), lines=lines, total=money(total), currency=currency)


async def check_read_cart(patient_id: str) -> CartOut:
    return await cart_out(await Cart.find_one({"patient_id": PydanticObjectId(patient_id)}))


async def check_put_cart(patient_id: str, request: CartPutRequest) -> CartOut:
    """Replace the cart: every item must be an active item of the one clinic named."""
    merged: dict[str, int] = {}
    for line in request.lines:
        merged[line.item_id] = merged.get(line.item_id, 0) + line.quantity
    if merged and request.clinic_id is None:
        raise ApiError(422, "validation_error", "A cart with items names its clinic.", field="clinic_id")
    clinic_id = PydanticObjectId(request.clinic_id) if request.clinic_id else None
    if clinic_id is not None:
        await access_clinic(str(clinic_id))
    found = {str(i.id): i for i in await PharmacyItem.find({"_id": {"$in": [PydanticObjectId(i) for i in merged]}, "active": True}).to_list()}
    for item_id in merged:
        if item_id not in found or found[item_id].clinic_id != clinic_id:
            raise ApiError(422, "unknown_item", "An item is not in this clinic's pharmacy.", field="lines")
    lines = [CartLine(item_id=PydanticObjectId(i), quantity=q).model_dump() for i, q in merged.items()]
    await Cart.get_pymongo_collection().update_one(
        {"patient_id": PydanticObjectId(patient_id)}, {"$set": {"clinic_id": clinic_id, "lines": lines, "updated_at": utcnow()}}, upsert=True
    )
    return await check_read_cart(patient_id)


# ---- checkout ----------------------------------------------------------------------------------


async def _active_prescription(patient_id: PydanticObjectId, drug: str) -> Prescription | None:
    today = utcnow().date().isoformat()
    for prescription in await Prescription.find({"patient_id": patient_id, "active": True}).to_list():
        if prescription.end_date >= today and drug.lower() in prescription.drug.lower():
            return prescription
    return None


async def _existing_order(patient_id: PydanticObjectId, client_id: str) -> PharmacyOrder | None:
    return await PharmacyOrder.find_one({"patient_id": patient_id, "client_id": client_id})


async def check_checkout(patient_id: str, request: CheckoutRequest) -> tuple[OrderOut, bool]:
    """Order the cart; (order, created). The same client_id answers the first order again."""
    patient = PydanticObjectId(patient_id)
    if (existing := await _existing_order(patient, request.client_id)) is not None:
        return order_out(existing), False
    clinic = await access_clinic(request.clinic_id)
    cart = await Cart.find_one({"patient_id": patient})
    if cart is None or not cart.lines or cart.clinic_id != clinic.id:
        raise ApiError(409, "cart_empty", "The cart holds nothing from this clinic.", field="clinic_id")
    items = {i.id: i for i in await PharmacyItem.find({"_id": {"$in": [line.item_id for line in cart.lines]}, "active": True}).to_list()}
    lines: list[OrderLine] = []
    for line in sorted(cart.lines, key=lambda cart_line: str(cart_line.item_id)):  # one lock order for every checkout
        item = items.get(line.item_id)
        if item is None:
            raise ApiError(409, "item_unavailable", "An item in the cart is no longer sold.", field="lines")
        prescription = await _active_prescription(patient, item.drug) if item.prescription_required else None
        if item.prescription_required and prescription is None:
            raise ApiError(403, "prescription_required", f"{item.name} needs an active prescription of {item.drug}.", field="lines",
                           items=[{"item_id": str(item.id), "name": item.name}])
        lines.append(OrderLine(item_id=item.id, name=item.name, form=item.form, strength=item.strength, pack_size=item.pack_size,
                               quantity=line.quantity, unit_price_minor=item.price_minor, prescription_id=prescription.id if prescription else None))
    now = utcnow()
    order = PharmacyOrder(
        id=PydanticObjectId(), patient_id=patient, clinic_id=clinic.id, client_id=request.client_id, lines=lines,
        total_minor=sum(line.unit_price_minor * line.quantity for line in lines), currency=items[lines[0].item_id].currency,
        placed_at=now, hold_until=now + timedelta(days=get_settings().order_hold_days), updated_at=now,
    )

    async def body(session: AsyncClientSession) -> None:
        await PharmacyOrder.get_pymongo_collection().insert_one(order.model_dump(by_alias=True), session=session)
        for line in lines:
            reserved = await _move(session, line.item_id, clinic.id, "reserved", line.quantity, -line.quantity, line.quantity,
                                   f"{order.id}:{line.item_id}:reserved", order_id=order.id, prescription_id=line.prescription_id, by=patient)
            if not reserved:
                raise OutOfStock

    try:
        await in_transaction(body)
    except DuplicateKeyError:
        # A concurrent request with the same client_id won: answer its order.
        if (existing := await _existing_order(patient, request.client_id)) is not None:
            return order_out(existing), False
        raise
    except OutOfStock:
        short = await PharmacyItem.find({"_id": {"$in": [line.item_id for line in lines]}}).to_list()
        wanted = {line.item_id: line.quantity for line in lines}
        missing = [OutOfStockItem(item_id=str(i.id), name=i.name, requested=wanted[i.id], available=i.stock).model_dump() for i in short if i.stock < wanted[i.id]]
        names = ", ".join(m["name"] for m in missing) or "an item"
        raise ApiError(409, "out_of_stock", f"Not enough in stock: {names}.", field="lines", items=missing) from None
    await Cart.get_pymongo_collection().update_one({"patient_id": patient}, {"$set": {"lines": [], "updated_at": utcnow()}})
    await _after_stock_change([line.item_id for line in lines])
    await _announce(order, "pharmacy_order_placed", clinic)
    return order_out(order), True


# ---- the order's life --------------------------------------------------------------------------


async def _announce(order: PharmacyOrder, notification_kind: str | None = None, clinic: Clinic | None = None) -> None:
    """order:updated to the patient, pharmacy:order to the clinic's pharmacists, and the outbox."""
    patient = await User.get(order.patient_id)
    out = order_out(order, patient.name if patient else None)
    await publish_to_users(ORDER_UPDATED, OrderUpdatedEvent(order=order_out(order)), [str(order.patient_id)])
    staff = await pharmacist_ids(order.clinic_id)
    if staff:
        await publish_to_users(PHARMACY_ORDER, OrderUpdatedEvent(order=out), staff)
    if notification_kind:
        clinic = clinic or await Clinic.get(order.clinic_id)
        await request_notification(
            recipient_id=str(order.patient_id), kind=notification_kind, idempotency_key=f"{notification_kind}:{order.id}",
            context={"order_id": str(order.id), "clinic_name": clinic.name if clinic else "your clinic", "total": out.total, "currency": out.currency,
                     "item_count": sum(line.quantity for line in order.lines), "hold_until": order.hold_until.isoformat()},
        )


async def access_order(order_id: str) -> PharmacyOrder:
    order = await PharmacyOrder.get(_oid(order_id, "Order"))
    if order is None:
        raise not_found("Order")
    return order


async def _transition(order: PharmacyOrder, from_states: tuple[str, ...], to_state: str, ledger_kind: str | None, extra: dict[str, Any],
                      by: PydanticObjectId | None, reason: str | None = None) -> PharmacyOrder | None:
    """Move the order between states and its stock with it, in one transaction; None when it was no longer in from_states."""

    async def body(session: AsyncClientSession) -> dict[str, Any] | None:
        raw = await PharmacyOrder.get_pymongo_collection().find_one_and_update(
            {"_id": order.id, "status": {"$in": list(from_states)}}, {"$set": {"status": to_state, "updated_at": utcnow(), **extra}},
            return_document=ReturnDocument.AFTER, session=session,
        )
        if raw is None:
            return None
        for line in order.lines:
            if ledger_kind == "released":
                ok = await _move(session, line.item_id, order.clinic_id, "released", line.quantity, line.quantity, -line.quantity,
                                 f"{order.id}:{line.item_id}:released", order_id=order.id, reason=reason, by=by)
            elif ledger_kind == "dispensed":
                ok = await _move(session, line.item_id, order.clinic_id, "dispensed", line.quantity, 0, -line.quantity,
                                 f"{order.id}:{line.item_id}:dispensed", order_id=order.id, prescription_id=line.prescription_id, by=by)
            else:
                ok = True
            if not ok:
                raise AssertionError(f"order {order.id} holds more than item {line.item_id} has reserved")
        return raw

    raw = await in_transaction(body)
    return PharmacyOrder.model_validate(raw) if raw else None


def _conflict(order: PharmacyOrder, wanted: str) -> ApiError:
    return ApiError(409, "invalid_state", f"The order is {order.status}; it cannot be {wanted}.")


async def check_cancel_order(user_id: str, role: str, order_id: str, request: CancelOrderRequest) -> OrderOut:
    """The patient cancels before the order is ready; a pharmacist (or admin) cancels an open order with a reason."""
    order = await access_order(order_id)
    is_patient = str(order.patient_id) == str(user_id)
    if is_patient:
        allowed = ("placed",)
    else:
        if role == Role.patient.value:
            raise not_found("Order")
        await access_pharmacy_desk(user_id, role, str(order.clinic_id))
        if not request.reason:
            raise ApiError(422, "validation_error", "A pharmacist gives a reason for cancelling.", field="reason")
        allowed = OPEN_ORDER_STATES
    reason = request.reason or "cancelled by the patient"
    now = utcnow()
    done = await _transition(order, allowed, "cancelled", "released", {"cancelled_at": now, "cancelled_by": PydanticObjectId(user_id), "cancel_reason": reason},
                             PydanticObjectId(user_id), reason)
    if done is None:
        raise _conflict(await access_order(order_id), "cancelled")
    await _after_stock_change([line.item_id for line in done.lines])
    await _announce(done)
    return order_out(done)


async def check_mark_ready(user_id: str, role: str, order_id: str) -> OrderOut:
    order = await access_order(order_id)
    await access_pharmacy_desk(user_id, role, str(order.clinic_id))
    done = await _transition(order, ("placed",), "ready", None, {"ready_at": utcnow()}, PydanticObjectId(user_id))
    if done is None:
        raise _conflict(await access_order(order_id), "made ready")
    await _announce(done, "pharmacy_order_ready")
    return order_out(done)


async def check_mark_collected(user_id: str, role: str, order_id: str) -> OrderOut:
    """The patient collected (and paid): the reserved stock is dispensed, each line against its prescription."""
    order = await access_order(order_id)
    await access_pharmacy_desk(user_id, role, str(order.clinic_id))
    done = await _transition(order, OPEN_ORDER_STATES, "collected", "dispensed", {"collected_at": utcnow()}, PydanticObjectId(user_id))
    if done is None:
        raise _conflict(await access_order(order_id), "collected")
    await _announce(done)
    return order_out(done)


async def do_release_expired_orders(now: datetime | None = None) -> int:
    """Cancel open orders not collected by their hold date, releasing their stock; the number released."""
    now = now or utcnow()
    released = 0
    for order in await PharmacyOrder.find({"status": {"$in": list(OPEN_ORDER_STATES)}, "hold_until": {"$lte": now}}).limit(500).to_list():
        done = await _transition(order, OPEN_ORDER_STATES, "cancelled", "released",
                                 {"cancelled_at": now, "cancelled_by": None, "cancel_reason": "not collected in time"}, None, "not collected in time")
        if done is not None:
            released += 1
            await _after_stock_change([line.item_id for line in done.lines])
            await _announce(done)
    return released


async def check_list_my_orders(patient_id: str, query: OrderListQuery) -> list[OrderOut]:
    condition: dict[str, Any] = {"patient_id": PydanticObjectId(patient_id)}
    if query.status:
        condition["status"] = query.status
    return [order_out(o) for o in await PharmacyOrder.find(condition).sort("-placed_at").limit(query.limit).to_list()]


async def check_list_clinic_orders(user_id: str, role: str, clinic_id: str, query: OrderListQuery) -> list[OrderOut]:
    clinic = await access_pharmacy_desk(user_id, role, clinic_id)
    condition: dict[str, Any] = {"clinic_id": clinic.id}
    if query.status:
        condition["status"] = query.status
    orders = await PharmacyOrder.find(condition).sort("-placed_at").limit(query.limit).to_list()
    names = {u.id: u.name for u in await User.find({"_id": {"$in": list({o.patient_id for o in orders})}}).to_list()}
    return [order_out(o, names.get(o.patient_id)) for o in orders]


async def check_read_order(user_id: str, role: str, order_id: str) -> OrderOut:
    order = await access_order(order_id)
    if str(order.patient_id) != str(user_id):
        if role == Role.patient.value:
            raise not_found("Order")
        await access_pharmacy_desk(user_id, role, str(order.clinic_id))
    return order_out(order)
