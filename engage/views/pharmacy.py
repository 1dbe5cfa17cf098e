"""The pharmacy over HTTP: catalogue and stock, the patient's cart, checkout and orders, the desk."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from quart import Blueprint
from quart import request

from engage.actions.pharmacy import check_cancel_order
from engage.actions.pharmacy import check_change_stock
from engage.actions.pharmacy import check_checkout
from engage.actions.pharmacy import check_create_item
from engage.actions.pharmacy import check_list_clinic_orders
from engage.actions.pharmacy import check_list_my_orders
from engage.actions.pharmacy import check_mark_collected
from engage.actions.pharmacy import check_mark_ready
from engage.actions.pharmacy import check_put_cart
from engage.actions.pharmacy import check_read_cart
from engage.actions.pharmacy import check_read_order
from engage.actions.pharmacy import check_search_items
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.pharmacy import CancelOrderRequest
from schemas.pharmacy import CartPutRequest
from schemas.pharmacy import CheckoutRequest
from schemas.pharmacy import ItemCreateRequest
from schemas.pharmacy import ItemSearchQuery
from schemas.pharmacy import OrderListQuery
from schemas.pharmacy import StockChangeRequest

M = TypeVar("M", bound=BaseModel)

blueprint = Blueprint("pharmacy", __name__, url_prefix="/api")


def _who() -> tuple[str, str]:
    user = current_user()
    return str(user.id), user.role.value


async def _optional_json(model: type[M]) -> M:
    """A body that may be absent (the patient cancels without a reason)."""
    if not await request.get_data(cache=True, as_text=False):
        return model()
    return await read_json(model)


@blueprint.get("/clinics/<clinic_id>/pharmacy/items")
async def search_items(clinic_id: str):
    items = await check_search_items(*_who(), clinic_id, read_query(ItemSearchQuery))
    return {"items": [i.model_dump(mode="json") for i in items]}


@blueprint.post("/clinics/<clinic_id>/pharmacy/items")
async def create_item(clinic_id: str):
    item = await check_create_item(*_who(), clinic_id, await read_json(ItemCreateRequest))
    return {"item": item.model_dump(mode="json")}, 201


@blueprint.post("/pharmacy/items/<item_id>/stock")
async def change_stock(item_id: str):
    item, entry = await check_change_stock(*_who(), item_id, await read_json(StockChangeRequest))
    return {"item": item.model_dump(mode="json"), "entry": entry.model_dump(mode="json")}, 201


@blueprint.get("/me/cart")
async def read_cart():
    return {"cart": (await check_read_cart(_who()[0])).model_dump(mode="json")}


@blueprint.put("/me/cart")
async def put_cart():
    cart = await check_put_cart(_who()[0], await read_json(CartPutRequest))
    return {"cart": cart.model_dump(mode="json")}


@blueprint.post("/orders")
async def checkout():
    order, created = await check_checkout(_who()[0], await read_json(CheckoutRequest))
    return {"order": order.model_dump(mode="json")}, 201 if created else 200


@blueprint.get("/me/orders")
async def my_orders():
    orders = await check_list_my_orders(_who()[0], read_query(OrderListQuery))
    return {"orders": [o.model_dump(mode="json") for o in orders]}


@blueprint.get("/orders/<order_id>")
async def read_order(order_id: str):
    return {"order": (await check_read_order(*_who(), order_id)).model_dump(mode="json")}


@blueprint.post("/orders/<order_id>/cancel")
async def cancel_order(order_id: str):
    order = await check_cancel_order(*_who(), order_id, await _optional_json(CancelOrderRequest))
    return {"order": order.model_dump(mode="json")}


@blueprint.post("/orders/<order_id>/ready")
async def mark_ready(order_id: str):
    return {"order": (await check_mark_ready(*_who(), order_id)).model_dump(mode="json")}


@blueprint.post("/orders/<order_id>/collected")
async def mark_collected(order_id: str):
    return {"order": (await check_mark_collected(*_who(), order_id)).model_dump(mode="json")}


@blueprint.get("/clinics/<clinic_id>/pharmacy/orders")
async def clinic_orders(clinic_id: str):
    orders = await check_list_clinic_orders(*_who(), clinic_id, read_query(OrderListQuery))
    return {"orders": [o.model_dump(mode="json") for o in orders]}
