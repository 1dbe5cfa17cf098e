"""Factories and helpers shared by the booking tests: clinics, scheduled doctors, dates, schema checks."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from schemas.booking import EVENT_SCHEMAS
from tests.clients import Account
from tests.clients import Api

ALL_WEEK_9_TO_17 = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(7)]
ALL_DAY = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def make_clinic(api: Api, admin: Account, timezone: str = "UTC", **fields) -> dict:
    resp = await api.post("/api/admin/clinics", {"name": unique("Clinic"), "timezone": timezone, **fields}, token=admin.access_token)
    assert resp.status == 201, resp.body
    return resp.body["clinic"]


async def make_scheduled_doctor(
    api: Api,
    admin: Account,
    make_doctor,
    clinic: dict | None = None,
    timezone: str = "UTC",
    specialties: list[str] | None = None,
    weekly: list[dict] | None = None,
    slot_minutes: int = 30,
    buffer_minutes: int = 0,
    exceptions: list[dict] | None = None,
) -> tuple[Account, dict]:
    """A doctor with a clinic (placed there by the admin: a doctor's own clinic_id only asks to join),
    specialties and availability; returns (account, profile)."""
    clinic = clinic or await make_clinic(api, admin, timezone)
    doctor = await make_doctor()
    resp = await api.patch(
        f"/api/doctors/{doctor.id}", {"clinic_id": clinic["id"], "specialties": specialties or [unique("general")]}, token=admin.access_token
    )
    assert resp.status == 200, resp.body
    resp = await api.put(
        f"/api/doctors/{doctor.id}/availability",
        {"slot_minutes": slot_minutes, "buffer_minutes": buffer_minutes, "weekly": weekly or ALL_WEEK_9_TO_17, "exceptions": exceptions or []},
        token=doctor.access_token,
    )
    assert resp.status == 200, resp.body
    return doctor, resp.body["doctor"]


def future_day(days: int = 3) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).date()


def local_slot(day: date, hh_mm: str, timezone: str = "UTC") -> str:
    """A clinic-local wall time on a date as a UTC ISO string."""
    hours, minutes = map(int, hh_mm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=ZoneInfo(timezone)).astimezone(UTC).isoformat().replace("+00:00", "Z")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def last_sunday(year: int, month: int) -> date:
    day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def validate_event(event: str, payload: dict) -> None:
    """Every emitted booking event must match its pydantic schema exactly."""
    EVENT_SCHEMAS[event].model_validate(payload, strict=False)


async def book(api: Api, patient: Account, doctor_id: str, start: str, client_id: str | None = None, **extra):
    body = {"doctor_id": doctor_id, "start": start, "client_id": client_id or uuid.uuid4().hex, **extra}
    return await api.post("/api/appointments", body, token=patient.access_token)


async def make_patients(make_patient, count: int, **fields) -> list[Account]:
    """Many patients, a few at a time (password hashing is deliberately slow)."""
    patients: list[Account] = []
    while len(patients) < count:
        batch = min(5, count - len(patients))
        patients.extend(await asyncio.gather(*[make_patient(**fields) for _ in range(batch)]))
    return patients
