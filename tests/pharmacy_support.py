"""Factories for the pharmacy tests: a clinic with a pharmacist, items, carts, checkouts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from bson import ObjectId

from engage.lib.passwords import hash_password
from engage.models.user import User
from tests.booking_support import make_clinic
from tests.clients import Account
from tests.clients import Api
from tests.clients import Response
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login


@dataclass
class Pharmacy:
    clinic: dict
    pharmacist: Account

    @property
    def clinic_id(self) -> str:
        return self.clinic["id"]


async def make_pharmacy(api: Api, admin: Account, make_doctor=None) -> Pharmacy:
    """A clinic with a pharmacist: invited as clinic staff, with the password the invitation link would set."""
    clinic = await make_clinic(api, admin)
    email = f"pharmacist-{uuid.uuid4().hex[:10]}@example.org"
    invited = await api.post(f"/api/clinics/{clinic['id']}/staff", {"email": email, "name": "Phil Pharmacist", "role": "pharmacist"}, token=admin.access_token)
    assert invited.status == 201 and invited.body["user"]["role"] == "pharmacist", invited.body
    # The invitation's email link is the accounts tests' subject; here the password is set as that link would.
    await User.get_pymongo_collection().update_one({"_id": ObjectId(invited.body["user"]["id"])}, {"$set": {"password_hash": await hash_password(DEFAULT_PASSWORD)}})
    return Pharmacy(clinic, await login(api, email, DEFAULT_PASSWORD))


async def add_item(api: Api, pharmacy: Pharmacy, stock: int = 10, **fields) -> dict:
    body = {"name": f"Paracetamol {uuid.uuid4().hex[:4]}", "form": "tablet", "strength": "500 mg", "pack_size": 16, "price": "2.50",
            "initial_stock": stock, **fields}
    resp = await api.post(f"/api/clinics/{pharmacy.clinic_id}/pharmacy/items", body, token=pharmacy.pharmacist.access_token)
    assert resp.status == 201, resp.body
    return resp.body["item"]


async def fill_cart(api: Api, patient: Account, pharmacy: Pharmacy, *lines: tuple[dict, int]) -> dict:
    body = {"clinic_id": pharmacy.clinic_id, "lines": [{"item_id": item["id"], "quantity": quantity} for item, quantity in lines]}
    resp = await api.put("/api/me/cart", body, token=patient.access_token)
    assert resp.status == 200, resp.body
    return resp.body["cart"]


async def checkout(api: Api, patient: Account, pharmacy: Pharmacy, client_id: str | None = None) -> Response:
    return await api.post("/api/orders", {"clinic_id": pharmacy.clinic_id, "client_id": client_id or uuid.uuid4().hex}, token=patient.access_token)
