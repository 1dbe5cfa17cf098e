"""Factories for the front-desk tests: a clinic whose local morning is now, its receptionist, a doctor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from bson import ObjectId

from engage.lib.passwords import hash_password
from engage.models.user import User
from tests.booking_support import ALL_DAY
from tests.booking_support import iso
from tests.booking_support import make_clinic
from tests.booking_support import make_scheduled_doctor
from tests.clients import Account
from tests.clients import Api
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login


def morning_zone() -> str:
    """A time zone where it is about 08:00 now, so today still has bookable slots there."""
    offset = (8 - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def later_today(minutes: int = 120) -> str:
    """A 30-minute slot start at least `minutes` from now (still the same local day in morning_zone())."""
    at = datetime.now(UTC) + timedelta(minutes=minutes)
    at = at.replace(second=0, microsecond=0) + timedelta(minutes=(30 - at.minute % 30) % 30)
    return iso(at)


@dataclass
class Desk:
    clinic: dict
    receptionist: Account
    doctor: Account

    @property
    def clinic_id(self) -> str:
        return self.clinic["id"]

    @property
    def base(self) -> str:
        return f"/api/clinics/{self.clinic['id']}/front-desk"


async def make_receptionist(api: Api, admin: Account, clinic_id: str) -> Account:
    """A receptionist invited as clinic staff, with the password the invitation link would set
    (the invitation email itself is tests/test_accounts_clinics.py's subject)."""
    email = f"desk-{uuid.uuid4().hex[:10]}@example.org"
    invited = await api.post(f"/api/clinics/{clinic_id}/staff", {"email": email, "name": "Rita Desk", "role": "receptionist"}, token=admin.access_token)
    assert invited.status == 201 and invited.body["user"]["role"] == "receptionist", invited.body
    await User.get_pymongo_collection().update_one({"_id": ObjectId(invited.body["user"]["id"])}, {"$set": {"password_hash": await hash_password(DEFAULT_PASSWORD)}})
    return await login(api, email, DEFAULT_PASSWORD)


async def make_desk(api: Api, admin: Account, make_doctor) -> Desk:
    """A clinic in its local morning with a receptionist and a doctor available all day."""
    clinic = await make_clinic(api, admin, morning_zone())
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, clinic=clinic, weekly=ALL_DAY)
    return Desk(clinic, await make_receptionist(api, admin, clinic["id"]), doctor)


async def desk_book(api: Api, desk: Desk, patient_id: str, start: str, client_id: str | None = None, **extra):
    body = {"patient_id": patient_id, "doctor_id": desk.doctor.id, "start": start, "client_id": client_id or uuid.uuid4().hex, **extra}
    return await api.post(f"{desk.base}/appointments", body, token=desk.receptionist.access_token)
