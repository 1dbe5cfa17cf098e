"""A clinic's pharmacy: catalogue items, the stock ledger, patients' carts and orders. (Who works the
desk is a clinic-staff role: engage.models.user.Role.pharmacist with the user's clinic_id.)

Stock moves only through the ledger. Each entry changes an item's `stock` (available to order)
and `reserved` (held by open orders) in the same transaction as the item itself, so the sums of
an item's entries always equal its counters:
  received  +stock            reserved  -stock +reserved     released  +stock -reserved
  dispensed -reserved         adjusted  ±stock (with a reason)
"""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import BaseModel
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
from pymongo import IndexModel

from engage.models.base import utcnow

ORDER_STATES = ("placed", "ready", "collected", "cancelled")
OPEN_ORDER_STATES = ("placed", "ready")


class PharmacyItem(Document):
    clinic_id: PydanticObjectId
    name: str
    name_key: str  # lowercased name, form and strength: what search matches
    drug: str  # generic name a prescription must name (prescription-only items)
    form: str  # tablet, capsule, syrup, ...
    strength: str  # "500 mg"
    pack_size: int
    price_minor: int  # in the currency's minor units (cents): Decimal arithmetic without floats
    currency: str = "USD"
    prescription_required: bool = False
    stock: int = 0  # available to order; never negative
    reserved: int = 0  # held by placed and ready orders
    low_stock_threshold: int = 0
    low_stock_alerted: bool = False  # the pharmacists were told; cleared when restocked above the threshold
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "pharmacy_items"
        indexes = [IndexModel([("clinic_id", ASCENDING), ("name_key", ASCENDING)], name="clinic_name")]


class StockEntry(Document):
    """One movement of an item's stock; `key` makes an order's reservation, release or dispensing happen once."""

    item_id: PydanticObjectId
    clinic_id: PydanticObjectId
    kind: str  # received | reserved | released | dispensed | adjusted
    quantity: int
    delta_stock: int
    delta_reserved: int
    key: str  # "<order>:<item>:<kind>" for order movements, a random id otherwise
    order_id: PydanticObjectId | None = None
    prescription_id: PydanticObjectId | None = None  # dispensing against a prescription
    reason: str | None = None
    by: PydanticObjectId | None = None  # None: the expiry job
    at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "stock_ledger"
        indexes = [
            IndexModel([("key", ASCENDING)], unique=True, name="key_unique"),
            IndexModel([("item_id", ASCENDING), ("at", DESCENDING)], name="item_at"),
            IndexModel([("prescription_id", ASCENDING), ("at", DESCENDING)], name="prescription_at"),  # a prescription's dispensings
        ]


class CartLine(BaseModel):
    item_id: PydanticObjectId
    quantity: int


class Cart(Document):
    patient_id: PydanticObjectId
    clinic_id: PydanticObjectId | None = None
    lines: list[CartLine] = Field(default_factory=list)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "pharmacy_carts"
        indexes = [IndexModel([("patient_id", ASCENDING)], unique=True, name="patient_unique")]


class OrderLine(BaseModel):
    item_id: PydanticObjectId
    name: str
    form: str
    strength: str
    pack_size: int
    quantity: int
    unit_price_minor: int
    prescription_id: PydanticObjectId | None = None


class PharmacyOrder(Document):
    patient_id: PydanticObjectId
    clinic_id: PydanticObjectId
    client_id: str  # the patient's idempotency key: one order per (patient, client_id)
    status: str = "placed"  # placed | ready | collected | cancelled
    lines: list[OrderLine]
    total_minor: int
    currency: str
    placed_at: datetime = Field(default_factory=utcnow)
    hold_until: datetime  # released by the expiry job if not collected by then
    ready_at: datetime | None = None
    collected_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: PydanticObjectId | None = None
    cancel_reason: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "pharmacy_orders"
        indexes = [
            IndexModel([("patient_id", ASCENDING), ("client_id", ASCENDING)], unique=True, name="patient_client_unique"),
            IndexModel([("patient_id", ASCENDING), ("placed_at", DESCENDING)], name="patient_placed"),
            IndexModel([("clinic_id", ASCENDING), ("status", ASCENDING), ("placed_at", DESCENDING)], name="clinic_status"),
            IndexModel([("status", ASCENDING), ("hold_until", ASCENDING)], name="status_hold"),
        ]
