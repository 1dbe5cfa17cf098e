"""Claiming a slot and announcing it: what booking and the waitlist share.

Booking frees slots and hands them to the waitlist (engage.actions.waitlist), which claims them
as holds; both claim and announce through this module, so neither imports the other back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from engage import metrics
from engage.events import publish_event
from engage.events import publish_to_users
from engage.events.booking import schedule_room
from engage.lib.booking import Resource
from engage.lib.booking import appointment_out
from engage.lib.booking import new_token
from engage.lib.booking import occupied_intervals
from engage.lib.booking import remaining_capacity
from engage.lib.slots import buckets
from engage.models.appointment import CLIENT_INDEX
from engage.models.appointment import PATIENT_INDEX
from engage.models.appointment import SLOT_INDEX
from engage.models.appointment import TOKEN_INDEX
from engage.models.appointment import Appointment
from schemas.booking import AppointmentEvent
from schemas.booking import SlotChangedEvent


class SlotTaken(Exception):
    """The slot (or every seat of it) is held by another active appointment."""


class PatientBusy(Exception):
    """The patient already holds an appointment overlapping this time."""


def duplicate_index(exc: DuplicateKeyError) -> str:
    """Which unique index refused the write."""
    details = exc.details or {}
    pattern = details.get("keyPattern") or {}
    if "client_id" in pattern:
        return CLIENT_INDEX
    if "token" in pattern:
        return TOKEN_INDEX
    if "resource_id" in pattern:
        return SLOT_INDEX
    if "buckets" in pattern:
        return PATIENT_INDEX
    message = str(details.get("errmsg") or exc)
    for name in (CLIENT_INDEX, TOKEN_INDEX, SLOT_INDEX, PATIENT_INDEX):
        if name in message:
            return name
    return "unknown"


async def free_seats(resource: Resource, start: datetime, end: datetime) -> list[int]:
    """The seats of the resource still free over [start, end)."""
    if resource.capacity == 1:
        return [0]  # no read: the insert itself decides
    busy = await occupied_intervals([resource.id], start, end)
    taken = {b["seat"] for b in busy if b["start"] < end and b["end"] > start}
    return [seat for seat in range(resource.capacity) if seat not in taken]


def new_appointment(resource: Resource, patient_id: PydanticObjectId, start: datetime, now: datetime, **fields: Any) -> Appointment:
    """An unsaved appointment holding this resource's slot at start (bookings and waitlist holds)."""
    end = resource.end_of(start)
    return Appointment(
        patient_id=patient_id,
        doctor_id=resource.id if resource.kind == "doctor" else None,
        test_centre_id=resource.id if resource.kind == "test_centre" else None,
        resource_id=resource.id,
        clinic_id=resource.clinic_id,
        start=start,
        end=end,
        timezone=resource.timezone,
        resource_name=resource.name,
        clinic_name=resource.clinic_name,
        buckets=buckets(start, end),
        token=new_token(),
        kind="consultation" if resource.kind == "doctor" else "diagnostic",
        created_at=now,
        updated_at=now,
        **fields,
    )


async def insert_claim(resource: Resource, appointment: Appointment) -> Appointment:
    """Insert an appointment (or hold) into a free seat of its slot; raises SlotTaken / PatientBusy.

    DuplicateKeyError on the client index propagates: the caller decides what a replay means.
    """
    seats = await free_seats(resource, appointment.start, appointment.end)
    token_retries = 3
    while seats:
        appointment.seat = seats[0]
        try:
            await appointment.insert()
            metrics.slot_claim_write("won")
            return appointment
        except DuplicateKeyError as exc:
            appointment.id = None
            index = duplicate_index(exc)
            metrics.slot_claim_write({SLOT_INDEX: "taken", PATIENT_INDEX: "patient_busy"}.get(index, "other"))
            if index == TOKEN_INDEX and token_retries:
                token_retries -= 1
                appointment.token = new_token()
                continue
            if index == PATIENT_INDEX:
                raise PatientBusy() from None
            if index != SLOT_INDEX:
                raise
            # Someone took this seat between our read and our insert: look again.
            seats = await free_seats(resource, appointment.start, appointment.end) if resource.capacity > 1 else []
    raise SlotTaken()


async def publish_slot(event: str, resource: Resource, start: datetime, end: datetime) -> None:
    """Tell the schedule's watchers a slot was taken or freed (with the seats left for shared resources)."""
    remaining = None
    if resource.capacity > 1:
        remaining = remaining_capacity(resource, start, end, await occupied_intervals([resource.id], start, end))
    payload = SlotChangedEvent(doctor_id=resource.doctor_id, test_centre_id=resource.test_centre_id, start=start, end=end, remaining=remaining)
    await publish_event(event, payload, schedule_room(str(resource.id)))


async def publish_appointment(event: str, appointment: Appointment, previous_start: datetime | None = None) -> None:
    """Tell the appointment's patient and doctor that it changed."""
    users = [str(appointment.patient_id)]
    if appointment.doctor_id is not None:
        users.append(str(appointment.doctor_id))
    payload = AppointmentEvent.model_validate({"appointment": appointment_out(appointment), "previous_start": previous_start})
    await publish_to_users(event, payload, users)
