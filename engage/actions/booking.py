"""Booking, rescheduling, cancelling and confirming appointments: the one booking engine.

Doctors and diagnostic test centres are both `Resource`s and go through the same code.
A booking is one insert and a reschedule one conditional update: the unique partial indexes
on `appointments` (see engage.models.appointment) make a double booking, or a patient holding
two overlapping appointments, impossible whatever the concurrency and however many web
processes run. Events and jobs go out only after the write succeeded.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from engage import extensions
from engage import metrics
from engage.actions.audit import record_health_data_access
from engage.actions.care import do_care_may_have_ended
from engage.actions.booking_jobs import enqueue_appointment_notifications
from engage.actions.slot_claims import PatientBusy
from engage.actions.slot_claims import SlotTaken
from engage.actions.slot_claims import duplicate_index
from engage.actions.slot_claims import free_seats
from engage.actions.slot_claims import insert_claim
from engage.actions.slot_claims import new_appointment
from engage.actions.slot_claims import publish_appointment
from engage.actions.slot_claims import publish_slot
from engage.actions.waitlist import offer_freed_slot
from engage.config import Settings
from engage.config import get_settings
from engage.errors import ApiError
from engage.errors import forbidden
from engage.events import publish_to_users
from engage.lib.availability_view import AvailabilityView
from engage.lib.booking import Resource
from engage.lib.booking import access_resource
from engage.lib.booking import earliest_bookable
from engage.lib.booking import find_alternatives
from engage.lib.booking import resource_of
from engage.lib.slots import buckets
from engage.lib.slots import place_in_availability
from engage.lib.users import access_user
from engage.models.appointment import ACTIVE_STATUSES
from engage.models.appointment import CHECKED_IN
from engage.models.appointment import HELD
from engage.models.appointment import PATIENT_INDEX
from engage.models.appointment import SLOT_INDEX
from engage.models.appointment import Appointment
from engage.models.user import Role
from engage.models.user import User
from schemas.booking import BookingConflictEvent
from schemas.booking import BookRequest

log = logging.getLogger(__name__)


# ---- shared checks ----


def check_start(settings: Settings, resource: Resource, start: datetime, now: datetime, field: str = "start") -> datetime:
    """A requested start as UTC, or a 422 saying why it cannot be booked."""
    start = start.astimezone(UTC)
    if start <= now:
        raise ApiError(422, "slot_in_past", "The requested start is in the past.", field=field)
    if start < earliest_bookable(settings, now):
        raise ApiError(
            422, "inside_minimum_notice", f"Appointments need at least {settings.booking_min_notice_minutes} minutes' notice.", field=field
        )
    place = place_in_availability(resource.availability, resource.tz, start)
    if place == "off_boundary":
        raise ApiError(
            422, "not_on_slot_boundary", f"The start is not on a slot boundary ({resource.availability.slot_minutes}-minute slots).", field=field
        )
    if place == "outside":
        raise ApiError(422, "outside_availability", f"{resource.name} is not available at that time.", field=field)
    return start


async def slot_taken_error(
    settings: Settings, resource: Resource, start: datetime, patient_id: str, now: datetime, alternatives: list[dict[str, Any]] | None = None
) -> ApiError:
    """The 409 for a lost race, after telling every socket of the patient (the booking page updates at once)."""
    if alternatives is None:
        alternatives = await find_alternatives(settings, resource, start, now, extensions.availability_view())
    event = BookingConflictEvent.model_validate(
        {"doctor_id": resource.doctor_id, "test_centre_id": resource.test_centre_id, "start": start, "alternatives": alternatives}
    )
    await publish_to_users("booking:conflict", event, [patient_id])
    metrics.booking_conflict()
    return ApiError(409, "slot_taken", "That slot has just been taken. Here are the nearest free ones.", field="start", alternatives=alternatives)


PATIENT_BUSY = ApiError(409, "patient_overlap", "You already have an appointment at this time.", field="start")


# ---- booking ----


async def check_book(settings: Settings, actor: User, request: BookRequest) -> Appointment:
    """Authorize and validate a booking request, then book it."""
    if actor.role == Role.patient:
        if request.patient_id and request.patient_id != str(actor.id):
            raise ApiError(422, "validation_error", "patient_id: only administrators book for another patient.", field="patient_id")
        patient = actor
    elif actor.role == Role.admin:
        if not request.patient_id:
            raise ApiError(422, "validation_error", "patient_id: required when an administrator books.", field="patient_id")
        patient = await access_user(request.patient_id, Role.patient, what="Patient")
    else:
        raise forbidden("Only patients, or administrators for a patient, can book appointments.")
    resource = await access_resource(request.doctor_id, request.test_centre_id)
    now = datetime.now(UTC)
    start = check_start(settings, resource, request.start, now)
    appointment = await do_book(settings, resource, patient.id, start, request.client_id, request.reason, booked_by=actor.id, now=now)
    if actor.role == Role.admin:
        await record_health_data_access(str(actor.id), actor.role.value, str(patient.id), "appointment.book", f"appointment:{appointment.id}")
    return appointment



async def do_book(
    settings: Settings,
    resource: Resource,
    patient_id: PydanticObjectId,
    start: datetime,
    client_id: str,
    reason: str | None = None,
    booked_by: PydanticObjectId | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Book a validated slot atomically; a replayed client_id returns the first result."""
    now = now or datetime.now(UTC)
    end = resource.end_of(start)
    appointment = new_appointment(
        resource,
        patient_id,
        start,
        now,
        reason=reason,
        client_id=client_id,
        booked_by=booked_by,
    )
    view = extensions.availability_view()
    try:
        if view is None or resource.capacity > 1:
            await insert_claim(resource, appointment)
        else:
            await claim_in_turn(view, resource, appointment)
    except (SlotTaken, PatientBusy, DuplicateKeyError) as exc:
        # A retry of a request that already succeeded collides with its own first result. Replays are
        # rare, so the lost race's alternatives are computed meanwhile rather than after.
        lookup = Appointment.find_one({"patient_id": patient_id, "client_id": client_id})
        if isinstance(exc, SlotTaken):
            previous, conflict = await asyncio.gather(lookup, find_alternatives(settings, resource, start, now, view))
        else:
            previous, conflict = await lookup, None
        if previous is not None:
            if previous.resource_id != resource.id or previous.start != start:
                raise ApiError(409, "client_id_reused", "This client_id was already used for a different booking.", field="client_id") from None
            return previous
        if isinstance(exc, PatientBusy):
            raise PATIENT_BUSY from None
        if isinstance(exc, DuplicateKeyError):
            raise
        raise await slot_taken_error(settings, resource, start, str(patient_id), now, alternatives=conflict) from None
    metrics.booked()
    # Independent Redis round trips after the write: run them together.
    await asyncio.gather(
        publish_slot("slot:taken", resource, start, end),
        publish_appointment("appointment:booked", appointment),
        enqueue_appointment_notifications(settings, str(appointment.id), "booked"),
    )
    return appointment


async def claim_in_turn(view: AvailabilityView, resource: Resource, appointment: Appointment) -> None:
    """Claim a doctor's slot, taking turns with this process's other requests for it.

    In a slot drop most requests lose, and a loser's 409 should cost no write. A slot taken as far
    as this process has seen (a slot event, a race lost here, or the request ahead in the queue
    winning it) is refused without an insert. A slot freed since comes with a slot:freed event; a
    booking let through meets the unique indexes, which alone decide who wins.
    """
    async with view.claim_turn(resource.id, appointment.start):
        if view.known_taken(resource.id, appointment.start, appointment.end):
            raise SlotTaken()
        try:
            await insert_claim(resource, appointment)
        except SlotTaken:
            view.note_taken(resource.id, appointment.start, appointment.end)
            raise
        view.note_taken(resource.id, appointment.start, appointment.end)


# ---- access ----


async def access_appointment(actor: User, appointment_id: str) -> Appointment:
    """An appointment the actor may see: the patient's own, the doctor's own, or any for an admin."""
    if not ObjectId.is_valid(appointment_id):
        raise ApiError(404, "not_found", "Appointment was not found.")
    appointment = await Appointment.get(PydanticObjectId(appointment_id))
    if appointment is None or appointment.status == HELD:
        raise ApiError(404, "not_found", "Appointment was not found.")
    if actor.role == Role.admin:
        return appointment
    if actor.role == Role.patient and appointment.patient_id == actor.id:
        return appointment
    if actor.role == Role.doctor and appointment.doctor_id == actor.id:
        return appointment
    raise ApiError(404, "not_found", "Appointment was not found.")


def _cutoff_check(settings: Settings, actor: User, appointment: Appointment, now: datetime, verb: str) -> None:
    if actor.role != Role.patient:
        return
    cutoff = timedelta(minutes=settings.booking_cancel_cutoff_minutes)
    if appointment.start - now < cutoff:
        hours = settings.booking_cancel_cutoff_minutes / 60
        raise ApiError(
            409, "too_late", f"Appointments can be {verb} online up to {hours:g} hours before they start; please call the clinic."
        )


def require_active(appointment: Appointment) -> None:
    if appointment.status not in ACTIVE_STATUSES:
        raise ApiError(409, "appointment_not_active", f"The appointment is {appointment.status}.")


def _by(actor: User) -> str:
    return actor.role.value


# ---- reschedule ----


async def check_reschedule(settings: Settings, actor: User, appointment_id: str, new_start: datetime) -> Appointment:
    """Authorize and validate a move, then move the appointment atomically."""
    appointment = await access_appointment(actor, appointment_id)
    require_active(appointment)
    now = datetime.now(UTC)
    _cutoff_check(settings, actor, appointment, now, "moved")
    resource = await resource_of(appointment)
    start = check_start(settings, resource, new_start, now)
    if start == appointment.start:
        return appointment
    return await do_reschedule(settings, resource, appointment, start, now)


async def do_reschedule(settings: Settings, resource: Resource, appointment: Appointment, start: datetime, now: datetime) -> Appointment:
    """Move one appointment in a single conditional update: the unique indexes guard the new time."""
    end = resource.end_of(start)
    previous_start, previous_end = appointment.start, appointment.end
    collection = Appointment.get_pymongo_collection()
    seats = [0] if resource.capacity == 1 else await free_seats(resource, start, end)
    updated = None
    while seats:
        try:
            updated = await collection.find_one_and_update(
                {"_id": appointment.id, "revision": appointment.revision, "status": {"$in": list(ACTIVE_STATUSES)}},
                {
                    "$set": {"start": start, "end": end, "buckets": buckets(start, end), "seat": seats[0], "status": "booked", "updated_at": now},
                    "$inc": {"revision": 1},
                },
                return_document=ReturnDocument.AFTER,
            )
            break
        except DuplicateKeyError as exc:
            index = duplicate_index(exc)
            if index == PATIENT_INDEX:
                raise PATIENT_BUSY from None
            if index != SLOT_INDEX:
                raise
            seats = await free_seats(resource, start, end) if resource.capacity > 1 else []
    else:
        raise await slot_taken_error(settings, resource, start, str(appointment.patient_id), now)
    if updated is None:
        raise ApiError(409, "appointment_changed", "The appointment changed meanwhile; reload it and try again.")
    moved = Appointment.model_validate(updated)
    await publish_slot("slot:taken", resource, start, end)
    await publish_appointment("appointment:rescheduled", moved, previous_start=previous_start)
    await enqueue_appointment_notifications(settings, str(moved.id), "rescheduled")
    await slot_freed(settings, resource, previous_start, previous_end, exclude_patient=moved.patient_id)
    return moved


# ---- cancel ----


async def check_cancel(settings: Settings, actor: User, appointment_id: str, reason: str | None) -> Appointment:
    """Patients cancel up to the cutoff; the doctor and admins at any time. Cancelling twice is harmless."""
    appointment = await access_appointment(actor, appointment_id)
    if appointment.status == "cancelled":
        return appointment
    require_active(appointment)
    _cutoff_check(settings, actor, appointment, datetime.now(UTC), "cancelled")
    return await do_cancel(settings, appointment, _by(actor), reason)


async def do_cancel(settings: Settings, appointment: Appointment, by: str, reason: str | None) -> Appointment:
    """Cancel, free the slot (or hand it to the waitlist), and cancel the reminders."""
    now = datetime.now(UTC)
    updated = await Appointment.get_pymongo_collection().find_one_and_update(
        {"_id": appointment.id, "status": {"$in": list(ACTIVE_STATUSES)}},
        {
            "$set": {"status": "cancelled", "holds_slot": False, "cancelled_at": now, "cancelled_by": by, "cancel_reason": reason, "updated_at": now},
            "$inc": {"revision": 1},
        },
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:  # cancelled (or completed) by someone else meanwhile
        current = await Appointment.get(appointment.id)
        assert current is not None
        if current.status == "cancelled":
            return current
        raise ApiError(409, "appointment_not_active", f"The appointment is {current.status}.")
    cancelled = Appointment.model_validate(updated)
    await publish_appointment("appointment:cancelled", cancelled)
    if cancelled.doctor_id is not None:
        await do_care_may_have_ended(str(cancelled.patient_id), str(cancelled.doctor_id))
    await enqueue_appointment_notifications(settings, str(cancelled.id), "cancelled")
    resource = await resource_of(cancelled)
    await slot_freed(settings, resource, cancelled.start, cancelled.end, exclude_patient=cancelled.patient_id)
    return cancelled


async def slot_freed(settings: Settings, resource: Resource, start: datetime, end: datetime, exclude_patient: PydanticObjectId | None = None) -> None:
    """A slot became free: offer it to the waitlist first, else tell the watchers."""
    if start > datetime.now(UTC) and resource.kind == "doctor" and await offer_freed_slot(settings, resource, start, end, exclude_patient):
        return
    await publish_slot("slot:freed", resource, start, end)


# ---- confirm and status ----


async def check_confirm(settings: Settings, actor: User, appointment_id: str) -> Appointment:
    """The patient (or an admin) confirms they will come."""
    appointment = await access_appointment(actor, appointment_id)
    if actor.role == Role.doctor:
        raise forbidden("Patients confirm their own appointments.")
    return await do_set_status(settings, appointment, "confirmed")


async def check_set_status(settings: Settings, actor: User, appointment_id: str, status: str) -> Appointment:
    """The doctor or an admin records confirmed, completed or no_show."""
    appointment = await access_appointment(actor, appointment_id)
    if actor.role == Role.patient:
        if status != "confirmed":
            raise forbidden("Only the doctor or an administrator can record this.")
    if status in ("completed", "no_show") and appointment.start > datetime.now(UTC):
        raise ApiError(409, "appointment_not_started", "An appointment can be marked completed or no-show only once it has started.")
    return await do_set_status(settings, appointment, status)


async def do_set_status(settings: Settings, appointment: Appointment, status: str) -> Appointment:
    """Move an active appointment to confirmed, checked_in, completed or no_show (the slot stays taken)."""
    if appointment.status == status:
        return appointment
    # A checked-in patient is still seen (completed) or leaves unseen (no_show).
    allowed_from = {"confirmed": ["booked"], CHECKED_IN: list(ACTIVE_STATUSES)}.get(status, [*ACTIVE_STATUSES, CHECKED_IN])
    now = datetime.now(UTC)
    fields: dict[str, Any] = {"status": status, "updated_at": now}
    if status == "confirmed":
        fields["confirmed_at"] = now
    if status == CHECKED_IN:
        fields["checked_in_at"] = now
    updated = await Appointment.get_pymongo_collection().find_one_and_update(
        {"_id": appointment.id, "status": {"$in": allowed_from}}, {"$set": fields}, return_document=ReturnDocument.AFTER
    )
    if updated is None:
        current = await Appointment.get(appointment.id)
        if current is not None and current.status == status:
            return current
        raise ApiError(409, "appointment_not_active", f"The appointment is {current.status if current else 'gone'}.")
    changed = Appointment.model_validate(updated)
    await publish_appointment("appointment:confirmed" if status == "confirmed" else "appointment:status", changed)
    if status == "no_show" and changed.doctor_id is not None:
        await do_care_may_have_ended(str(changed.patient_id), str(changed.doctor_id))
    return changed


# ---- lists ----


async def list_appointments(actor: User, status: str | None, upcoming: bool, limit: int) -> list[Appointment]:
    """A patient's or a doctor's own appointments; an admin sees all."""
    query: dict[str, Any] = {}
    if actor.role == Role.patient:
        query["patient_id"] = actor.id
    elif actor.role == Role.doctor:
        query["resource_id"] = actor.id  # equals doctor_id for consultations; uses the resource_start index
    query["status"] = status if status else {"$ne": HELD}
    if upcoming:
        query["end"] = {"$gt": datetime.now(UTC)}
    return await Appointment.find(query).sort("start").limit(limit).to_list()


async def find_by_token(token: str) -> Appointment:
    appointment = await Appointment.find_one({"token": token.strip().upper()})
    if appointment is None or appointment.status == HELD:
        raise ApiError(404, "not_found", "No booking has this token.")
    return appointment


# ---- SMS replies ----

CONFIRM_WORDS = {"C", "YES", "Y", "CONFIRM"}
CANCEL_WORDS = {"X", "CANCEL"}


async def handle_sms_reply(settings: Settings, user: User, text: str) -> str | None:
    """C/YES confirms the patient's next appointment, X/CANCEL cancels it; returns the confirmation text."""
    word = " ".join(text.split()).upper().rstrip(".!")
    if word not in CONFIRM_WORDS | CANCEL_WORDS or user.role != Role.patient:
        return None
    upcoming = await Appointment.find(
        {"patient_id": user.id, "status": {"$in": list(ACTIVE_STATUSES)}, "start": {"$gt": datetime.now(UTC)}}
    ).sort("start").limit(1).to_list()
    if not upcoming:
        return "You have no upcoming appointment."
    appointment = upcoming[0]
    when = _sms_time(appointment)
    if word in CONFIRM_WORDS:
        await do_set_status(settings, appointment, "confirmed")
        return f"Confirmed: {appointment.resource_name}, {when}. Reply X to cancel."
    try:
        _cutoff_check(settings, user, appointment, datetime.now(UTC), "cancelled")
    except ApiError:
        return f"It is too late to cancel {when} by SMS; please call {appointment.clinic_name}."
    await do_cancel(settings, appointment, "sms", "Cancelled by SMS reply")
    return f"Cancelled: {appointment.resource_name}, {when}."


def _sms_time(appointment: Appointment) -> str:
    local = appointment.start.astimezone(ZoneInfo(appointment.timezone))
    return f"{local:%a %d %b %H:%M} ({appointment.timezone})"


async def booking_sms_reply(user: User, text: str) -> str | None:
    """engage.actions.sms_replies' handler: C/YES confirms, X/CANCEL cancels the next appointment."""
    return await handle_sms_reply(get_settings(), user, text)
