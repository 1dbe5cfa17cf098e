"""Reads of the booking capability: bookable resources, free slots, alternatives, output shapes."""

from __future__ import annotations

import asyncio
import secrets
from bisect import bisect_left
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from bson import ObjectId

from engage.config import Settings
from engage.errors import ApiError
from engage.lib.availability_view import AvailabilityView
from engage.lib.users import listed_doctor_ids
from engage.lib.slots import local_view
from engage.lib.slots import place_in_availability
from engage.lib.slots import slot_end
from engage.lib.slots import slot_starts
from engage.models.appointment import Appointment
from engage.models.clinic import Availability
from engage.models.clinic import Clinic
from engage.models.clinic import DoctorProfile
from engage.models.clinic import TestCentre
from schemas.booking import AppointmentOut
from schemas.booking import AvailabilityOut
from schemas.booking import ClinicOut
from schemas.booking import DoctorProfileOut
from schemas.booking import SlotOut
from schemas.booking import TestCentreOut

ALTERNATIVES_WANTED = 3
_TOKEN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread at a desk


@dataclass(frozen=True)
class Resource:
    """Something bookable: a doctor (capacity 1) or a diagnostic test centre (capacity n)."""

    id: PydanticObjectId
    kind: str  # "doctor" | "test_centre"
    name: str
    clinic_id: PydanticObjectId
    clinic_name: str
    timezone: str
    availability: Availability
    capacity: int = 1
    peers_key: list[str] = field(default_factory=list)  # specialties, or [test kind]

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def doctor_id(self) -> str | None:
        return str(self.id) if self.kind == "doctor" else None

    @property
    def test_centre_id(self) -> str | None:
        return str(self.id) if self.kind == "test_centre" else None

    def end_of(self, start: datetime) -> datetime:
        return slot_end(self.availability, start)


def doctor_resource(profile: DoctorProfile) -> Resource:
    return Resource(
        id=profile.doctor_id,
        kind="doctor",
        name=profile.doctor_name,
        clinic_id=profile.clinic_id,
        clinic_name=profile.clinic_name,
        timezone=profile.timezone,
        availability=profile.availability,
        peers_key=list(profile.specialties),
    )


def test_centre_resource(centre: TestCentre) -> Resource:
    return Resource(
        id=centre.id,
        kind="test_centre",
        name=centre.name,
        clinic_id=centre.clinic_id,
        clinic_name=centre.clinic_name,
        timezone=centre.timezone,
        availability=centre.availability,
        capacity=centre.capacity,
        peers_key=[centre.kind],
    )


def _object_id(value: str, what: str, field_name: str | None = None) -> PydanticObjectId:
    if not ObjectId.is_valid(str(value)):
        raise ApiError(404, "not_found", f"{what} was not found.", field=field_name)
    return PydanticObjectId(str(value))


async def access_clinic(clinic_id: str, field_name: str | None = None) -> Clinic:
    clinic = await Clinic.get(_object_id(clinic_id, "Clinic", field_name))
    if clinic is None:
        raise ApiError(404, "not_found", "Clinic was not found.", field=field_name)
    return clinic


async def access_doctor_profile(doctor_id: str, field_name: str | None = None, listed_only: bool = True) -> DoctorProfile:
    """The profile of a doctor, or a 404 (unknown doctor, one without a clinic yet, or, unless
    listed_only is False, one nobody approved: such a doctor is never listed or bookable)."""
    oid = _object_id(doctor_id, "Doctor", field_name)
    if listed_only:  # two independent reads, side by side: a booking waits for one round trip, not two
        profile, listed = await asyncio.gather(DoctorProfile.find_one({"doctor_id": oid}), listed_doctor_ids([oid]))
    else:
        profile, listed = await DoctorProfile.find_one({"doctor_id": oid}), {oid}
    if profile is None or not listed:
        raise ApiError(404, "not_found", "Doctor was not found or has no schedule yet.", field=field_name)
    return profile


async def access_test_centre(test_centre_id: str, field_name: str | None = None) -> TestCentre:
    centre = await TestCentre.get(_object_id(test_centre_id, "Test centre", field_name))
    if centre is None:
        raise ApiError(404, "not_found", "Test centre was not found.", field=field_name)
    return centre


async def access_resource(doctor_id: str | None = None, test_centre_id: str | None = None, listed_only: bool = True) -> Resource:
    """One read: the doctor's profile or the test centre."""
    if doctor_id:
        return doctor_resource(await access_doctor_profile(doctor_id, "doctor_id", listed_only))
    assert test_centre_id
    return test_centre_resource(await access_test_centre(test_centre_id, "test_centre_id"))


async def resource_of(appointment: Appointment) -> Resource:
    """The resource an existing appointment was booked on, listed or not (it can still be moved or cancelled)."""
    if appointment.doctor_id is not None:
        return await access_resource(doctor_id=str(appointment.doctor_id), listed_only=False)
    return await access_resource(test_centre_id=str(appointment.test_centre_id))


async def occupied_intervals(resource_ids: list[PydanticObjectId], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Active appointments (and waitlist holds) of these resources overlapping [start, end): one read."""
    query: dict[str, Any] = {
        "resource_id": resource_ids[0] if len(resource_ids) == 1 else {"$in": resource_ids},
        "holds_slot": True,
        "start": {"$lt": end, "$gte": start - timedelta(days=1)},
        "end": {"$gt": start},
    }
    projection = {"resource_id": 1, "start": 1, "end": 1, "seat": 1, "_id": 0}
    cursor = Appointment.get_pymongo_collection().find(query, projection)
    return [doc async for doc in cursor]


class Occupancy:
    """Active intervals of some resources, indexed for quick overlap counts (slots last at most 8 hours)."""

    MAX_LENGTH = timedelta(hours=8)

    def __init__(self, busy: list[dict[str, Any]]) -> None:
        self._by_resource: dict[Any, tuple[list[datetime], list[tuple[datetime, datetime]]]] = {}
        grouped: dict[Any, list[tuple[datetime, datetime]]] = {}
        for item in busy:
            grouped.setdefault(item["resource_id"], []).append((_as_utc(item["start"]), _as_utc(item["end"])))
        for resource_id, intervals in grouped.items():
            intervals.sort()
            self._by_resource[resource_id] = ([start for start, _ in intervals], intervals)

    def overlapping(self, resource_id: Any, start: datetime, end: datetime) -> int:
        starts, intervals = self._by_resource.get(resource_id, ([], []))
        low = bisect_left(starts, start - self.MAX_LENGTH)
        high = bisect_left(starts, end)
        return sum(1 for i in range(low, high) if intervals[i][1] > start)


def _as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def remaining_capacity(resource: Resource, start: datetime, end: datetime, busy: list[dict[str, Any]] | Occupancy) -> int:
    occupancy = busy if isinstance(busy, Occupancy) else Occupancy(busy)
    return resource.capacity - occupancy.overlapping(resource.id, start, end)


def earliest_bookable(settings: Settings, now: datetime) -> datetime:
    return now + timedelta(minutes=settings.booking_min_notice_minutes)


async def free_slots(
    settings: Settings, resource: Resource, first_day, last_day, now: datetime | None = None, view: AvailabilityView | None = None
) -> list[tuple[datetime, datetime, int]]:
    """(start, end, remaining) of every bookable slot on local dates first_day..last_day (from the view when given)."""
    now = now or datetime.now(UTC)
    starts = [s for s in slot_starts(resource.availability, resource.tz, first_day, last_day) if s >= earliest_bookable(settings, now)]
    if not starts:
        return []
    occupancy = Occupancy(await _busy(view, [resource], starts[0], resource.end_of(starts[-1])))
    free = []
    for start in starts:
        end = resource.end_of(start)
        remaining = resource.capacity - occupancy.overlapping(resource.id, start, end)
        if remaining > 0:
            free.append((start, end, remaining))
    return free


def slot_out(resource: Resource, start: datetime, end: datetime, remaining: int | None = None) -> dict[str, Any]:
    return SlotOut(
        start=start,
        end=end,
        timezone=resource.timezone,
        doctor_id=resource.doctor_id,
        doctor_name=resource.name if resource.kind == "doctor" else None,
        test_centre_id=resource.test_centre_id,
        remaining=remaining if resource.kind == "test_centre" else None,
        **local_view(start, resource.tz),
    ).model_dump(mode="json")


async def find_alternatives(
    settings: Settings, resource: Resource, start: datetime, now: datetime | None = None, view: AvailabilityView | None = None
) -> list[dict[str, Any]]:
    """The nearest free slots of the same resource, then peers (same specialty / test kind) free at the same time.

    With a view (web processes), doctors' taken slots and peers come from it instead of the database."""
    now = now or datetime.now(UTC)
    local_day = start.astimezone(resource.tz).date()
    own: list[tuple[datetime, datetime, int]] = []
    for before, after in ((1, 1), (3, 10)):  # the nearest day usually has enough; widen only when not
        found = await free_slots(settings, resource, local_day - timedelta(days=before), local_day + timedelta(days=after), now, view)
        own = [slot for slot in found if slot[0] != start]
        if len(own) >= ALTERNATIVES_WANTED:
            break
    own.sort(key=lambda slot: (abs((slot[0] - start).total_seconds()), slot[0]))
    chosen = [slot_out(resource, *slot) for slot in own[:ALTERNATIVES_WANTED]]
    peers = await view.cached(("peers", resource.id), lambda: _peer_resources(resource)) if view else await _peer_resources(resource)
    candidates = [peer for peer in peers if place_in_availability(peer.availability, peer.tz, start) == "slot"]
    if candidates and start >= earliest_bookable(settings, now):
        occupancy = Occupancy(await _busy(view, candidates, start, start + timedelta(hours=8)))
        for peer in candidates:
            end = peer.end_of(start)
            remaining = remaining_capacity(peer, start, end, occupancy)
            if remaining > 0:
                chosen.append(slot_out(peer, start, end, remaining))
            if len(chosen) >= 2 * ALTERNATIVES_WANTED:
                break
    return chosen


async def _busy(view: AvailabilityView | None, resources: list[Resource], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Taken intervals overlapping [start, end): doctors' from the view when there is one, the rest from the database."""
    if view is None or any(r.capacity > 1 for r in resources):
        return await occupied_intervals([r.id for r in resources], start, end)
    return await view.busy([r.id for r in resources], start, end)


async def _peer_resources(resource: Resource) -> list[Resource]:
    if not resource.peers_key:
        return []
    if resource.kind == "doctor":
        profiles = await DoctorProfile.find({"specialties": {"$in": resource.peers_key}, "doctor_id": {"$ne": resource.id}}).limit(20).to_list()
        return [doctor_resource(p) for p in profiles]
    centres = await TestCentre.find({"kind": resource.peers_key[0], "_id": {"$ne": resource.id}}).limit(20).to_list()
    return [test_centre_resource(c) for c in centres]


def new_token() -> str:
    """A short front-desk token, e.g. "K7QM-2XPA"."""
    raw = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def appointment_out(appointment: Appointment) -> dict[str, Any]:
    return AppointmentOut(
        id=str(appointment.id),
        kind=appointment.kind,
        patient_id=str(appointment.patient_id),
        doctor_id=str(appointment.doctor_id) if appointment.doctor_id else None,
        test_centre_id=str(appointment.test_centre_id) if appointment.test_centre_id else None,
        clinic_id=str(appointment.clinic_id),
        resource_name=appointment.resource_name,
        clinic_name=appointment.clinic_name,
        start=appointment.start,
        end=appointment.end,
        timezone=appointment.timezone,
        local_start=appointment.start.astimezone(ZoneInfo(appointment.timezone)).isoformat(),
        status=appointment.status,
        reason=appointment.reason,
        client_id=appointment.client_id,
        token=appointment.token,
        created_at=appointment.created_at,
        confirmed_at=appointment.confirmed_at,
        checked_in_at=appointment.checked_in_at,
        cancelled_at=appointment.cancelled_at,
        cancelled_by=appointment.cancelled_by,
        cancel_reason=appointment.cancel_reason,
    ).model_dump(mode="json")


def availability_out(availability: Availability) -> dict[str, Any]:
    return AvailabilityOut.model_validate(availability.model_dump()).model_dump(mode="json")


def clinic_out(clinic: Clinic) -> dict[str, Any]:
    return ClinicOut(
        id=str(clinic.id), name=clinic.name, timezone=clinic.timezone, address=clinic.address, phone=clinic.phone, email=clinic.email
    ).model_dump(mode="json")


def doctor_profile_out(profile: DoctorProfile) -> dict[str, Any]:
    return DoctorProfileOut(
        id=str(profile.doctor_id),
        name=profile.doctor_name,
        clinic_id=str(profile.clinic_id),
        clinic_name=profile.clinic_name,
        timezone=profile.timezone,
        specialties=profile.specialties,
        bio=profile.bio,
        fee=profile.fee,
        availability=availability_out(profile.availability),
    ).model_dump(mode="json")


def test_centre_out(centre: TestCentre) -> dict[str, Any]:
    return TestCentreOut(
        id=str(centre.id),
        name=centre.name,
        kind=centre.kind,
        clinic_id=str(centre.clinic_id),
        clinic_name=centre.clinic_name,
        timezone=centre.timezone,
        capacity=centre.capacity,
        availability=availability_out(centre.availability),
    ).model_dump(mode="json")


test_centre_out.__test__ = False  # type: ignore[attr-defined]
test_centre_resource.__test__ = False  # type: ignore[attr-defined]
