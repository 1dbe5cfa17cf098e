"""The pharmacy's requests, responses and events: catalogue, stock, cart, orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from typing import Literal

from pydantic import BaseModel
from pydantic import Field
from pydantic import StringConstraints
from pydantic import model_validator

from schemas.common import ObjectIdStr
from schemas.common import RequestModel

Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Reason = Annotated[str, StringConstraints(min_length=3, max_length=300)]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Quantity = Annotated[int, Field(ge=1, le=10_000)]
OrderStatus = Literal["placed", "ready", "collected", "cancelled"]


class ItemCreateRequest(RequestModel):
    """POST /api/clinics/{id}/pharmacy/items: a catalogue item (its stock arrives through the ledger)."""

    name: Name
    drug: Name | None = None  # the generic name prescriptions use; default: the name
    form: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    strength: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    pack_size: Annotated[int, Field(ge=1, le=10_000)]
    # A decimal string, read with Decimal: never a float. (A plain pattern: the API reference's
    # example generator hangs on the lookaheads pydantic's Decimal schema has.)
    price: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,7}(\.[0-9]{1,2})?$")] = Field(description="e.g. \"4.50\"")
    currency: Currency = "USD"
    prescription_required: bool = False
    low_stock_threshold: Annotated[int, Field(ge=0, le=100_000)] = 0
    initial_stock: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class StockChangeRequest(RequestModel):
    """POST /api/pharmacy/items/{id}/stock: a delivery received, or an adjustment with its reason."""

    kind: Literal["received", "adjusted"]
    quantity: Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
    reason: Reason | None = None

    @model_validator(mode="after")
    def _shape(self) -> StockChangeRequest:
        if self.quantity == 0:
            raise ValueError("quantity must not be zero")
        if self.kind == "received" and self.quantity < 0:
            raise ValueError("a delivery receives a positive quantity; use adjusted to remove stock")
        if self.kind == "adjusted" and not self.reason:
            raise ValueError("an adjustment needs a reason")
        return self


class ItemSearchQuery(RequestModel):
    q: Annotated[str, StringConstraints(max_length=100)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 50


class ItemOut(BaseModel):
    id: str
    clinic_id: str
    name: str
    drug: str
    form: str
    strength: str
    pack_size: int
    price: str = Field(description="Decimal, in the currency's units, e.g. \"4.50\"")
    currency: str
    prescription_required: bool
    stock: int
    in_stock: bool
    low_stock_threshold: int
    reserved: int | None = Field(default=None, description="Held by open orders (pharmacists only)")


class ItemListOut(BaseModel):
    items: list[ItemOut]


class ItemEnvelope(BaseModel):
    item: ItemOut


class StockEntryOut(BaseModel):
    id: str
    item_id: str
    kind: str
    quantity: int
    delta_stock: int
    delta_reserved: int
    order_id: str | None = None
    reason: str | None = None
    at: datetime


class StockChangeOut(BaseModel):
    item: ItemOut
    entry: StockEntryOut


class CartLineIn(RequestModel):
    item_id: ObjectIdStr
    quantity: Quantity


class CartPutRequest(RequestModel):
    """PUT /api/me/cart: the whole cart (one clinic's items); an empty list empties it."""

    clinic_id: ObjectIdStr | None = None
    lines: Annotated[list[CartLineIn], Field(max_length=50)]


class CartLineOut(BaseModel):
    item: ItemOut
    quantity: int
    line_total: str


class CartOut(BaseModel):
    clinic_id: str | None
    lines: list[CartLineOut]
    total: str
    currency: str | None


class CartEnvelope(BaseModel):
    cart: CartOut


class CheckoutRequest(RequestModel):
    """POST /api/orders: order the cart; the same client_id never orders twice."""

    clinic_id: ObjectIdStr
    client_id: ClientId


class OrderLineOut(BaseModel):
    item_id: str
    name: str
    form: str
    strength: str
    pack_size: int
    quantity: int
    unit_price: str
    line_total: str
    prescription_id: str | None = None


class OrderOut(BaseModel):
    id: str
    patient_id: str
    patient_name: str | None = None
    clinic_id: str
    client_id: str
    status: OrderStatus
    lines: list[OrderLineOut]
    total: str
    currency: str
    placed_at: datetime
    hold_until: datetime
    ready_at: datetime | None = None
    collected_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None


class OrderEnvelope(BaseModel):
    order: OrderOut


class OrderListQuery(RequestModel):
    status: OrderStatus | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class OrderListOut(BaseModel):
    orders: list[OrderOut]


class CancelOrderRequest(RequestModel):
    reason: Reason | None = None


class OutOfStockItem(BaseModel):
    item_id: str
    name: str
    requested: int
    available: int


# ---- events ------------------------------------------------------------------------------------


class OrderUpdatedEvent(BaseModel):
    """order:updated, to the patient; pharmacy:order, to the clinic's pharmacists: the order as it is now."""

    order: OrderOut


class LowStockEvent(BaseModel):
    """pharmacy:low_stock, to the clinic's pharmacists, once until the item is restocked above its threshold."""

    item: ItemOut
