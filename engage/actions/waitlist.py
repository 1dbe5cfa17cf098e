"""The waitlist: a freed slot is held for the first waiting patient, then handed on if unclaimed.

A hold is an appointment document with status "held", so the same unique indexes that prevent
double bookings keep the held slot from being booked by anyone else while the offer stands.
"""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import ReturnDocument

from engage.actions.slot_claims import PatientBusy
from engage.actions.slot_claims import SlotTaken
from engage.actions.slot_claims import insert_claim
from engage.actions.slot_claims import new_appointment
from engage.actions.slot_claims import publish_appointment
from engage.actions.slot_claims import publish_slot
from engage.actions.booking_jobs import enqueue
from engage.actions.booking_jobs import enqueue_appointment_notifications
from engage.config import Settings
from engage.errors import ApiError
from engage.events import publish_to_users
from engage.lib.booking import access_resource
from engage.lib.booking import Resource
from engage.lib.slots import local_view
from engage.models.appointment import HELD
from engage.models.appointment import Appointment
from engage.models.user import User
from engage.models.waitlist import WaitlistEntry
from schemas.booking import WaitlistEntryOut
from schemas.booking import WaitlistOfferEvent
from schemas.booking import WaitlistRequest

log = logging.getLogger(__name__)
CANDIDATES_PER_SLOT = 10


def waitlist_entry_out(entry: WaitlistEntry) -> dict[str, Any]:
    return WaitlistEntryOut(
        id=str(entry.id),
        patient_id=str(entry.patient_id),
        doctor_id=str(entry.doctor_id),
        from_=entry.window_start,
        to=entry.window_end,
        status=entry.status,
        offer_start=entry.offer_start,
        offer_expires_at=entry.offer_expires_at,
        appointment_id=str(entry.appointment_id) if entry.appointment_id else None,
        created_at=entry.created_at,
    ).model_dump(mode="json", by_alias=True)


async def check_join_waitlist(actor: User, request: WaitlistRequest) -> WaitlistEntry:
    """A patient waits for any slot of a doctor between two instants."""
    await access_resource(doctor_id=request.doctor_id)
    if request.to <= datetime.now(UTC):
        raise ApiError(422, "validation_error", "to: the window has already ended.", field="to")
    entry = WaitlistEntry(
        patient_id=actor.id,
        doctor_id=PydanticObjectId(request.doctor_id),
        window_start=request.from_.astimezone(UTC),
        window_end=request.to.astimezone(UTC),
    )
    await entry.insert()
    return entry


async def list_waitlist(actor: User) -> list[WaitlistEntry]:
    return await WaitlistEntry.find({"patient_id": actor.id}).sort("created_at").to_list()


async def offer_freed_slot(
    settings: Settings, resource: Resource, start: datetime, end: datetime, exclude_patient: PydanticObjectId | None = None
) -> bool:
    """Hold a freed slot for the first matching waiting patient; True when the slot is now held (or taken)."""
    query: dict[str, Any] = {
        "doctor_id": resource.id,
        "status": "waiting",
        "window_start": {"$lte": start},
        "window_end": {"$gte": end},
        "passed_starts": {"$ne": start},
    }
    if exclude_patient is not None:
        query["patient_id"] = {"$ne": exclude_patient}
    candidates = await WaitlistEntry.find(query).sort("created_at").limit(CANDIDATES_PER_SLOT).to_list()
    now = datetime.now(UTC)
    expires_at = now + timedelta(minutes=settings.offer_hold_minutes)
    for entry in candidates:
        hold = new_appointment(
            resource,
            entry.patient_id,
            start,
            now,
            client_id=f"waitlist:{entry.id}:{start.isoformat()}:{ObjectId()}",
            status=HELD,
            hold_expires_at=expires_at,
            waitlist_entry_id=entry.id,
        )
        try:
            await insert_claim(resource, hold)
        except SlotTaken:
            return True  # booked by someone else in the meantime: not free after all
        except PatientBusy:
            continue  # this patient is busy then; the next one may not be
        claimed = await WaitlistEntry.get_pymongo_collection().find_one_and_update(
            {"_id": entry.id, "status": "waiting"},
            {"$set": {"status": "offered", "offer_hold_id": hold.id, "offer_start": start, "offer_expires_at": expires_at}},
        )
        if claimed is None:  # the entry was cancelled meanwhile
            await Appointment.get_pymongo_collection().delete_one({"_id": hold.id, "status": HELD})
            continue
        offer = WaitlistOfferEvent(
            entry_id=str(entry.id),
            doctor_id=str(resource.id),
            doctor_name=resource.name,
            start=start,
            end=end,
            local_start=local_view(start, resource.tz)["local_start"],
            timezone=resource.timezone,
            expires_at=expires_at,
        )
        await publish_to_users("waitlist:offer", offer, [str(entry.patient_id)])
        await enqueue(settings, "notifications", "workers.booking.send_waitlist_offer_notification", str(hold.id))
        # The scheduler's scan catches the expiry too, should this delayed job be lost.
        delay = expires_at - datetime.now(UTC) + timedelta(seconds=1)
        await enqueue(settings, "critical", "workers.booking.expire_waitlist_offer", str(hold.id), job_id=f"waitlist-expire-{hold.id}", delay=delay)
        return True
    return False


async def _access_entry(actor: User, entry_id: str) -> WaitlistEntry:
    entry = await WaitlistEntry.get(PydanticObjectId(entry_id)) if ObjectId.is_valid(entry_id) else None
    if entry is None or entry.patient_id != actor.id:
        raise ApiError(404, "not_found", "Waitlist entry was not found.")
    return entry


async def check_accept_offer(settings: Settings, actor: User, entry_id: str) -> Appointment:
    """The patient claims the slot held for them: the hold becomes their appointment."""
    entry = await _access_entry(actor, entry_id)
    if entry.status != "offered" or entry.offer_hold_id is None:
        raise ApiError(409, "no_offer", "There is no open offer on this waitlist entry.")
    now = datetime.now(UTC)
    updated = await Appointment.get_pymongo_collection().find_one_and_update(
        {"_id": entry.offer_hold_id, "status": HELD, "patient_id": actor.id, "hold_expires_at": {"$gt": now}},
        {"$set": {"status": "booked", "hold_expires_at": None, "booked_by": actor.id, "updated_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise ApiError(409, "offer_expired", "This offer has expired and passed to the next patient.")
    appointment = Appointment.model_validate(updated)
    await WaitlistEntry.get_pymongo_collection().update_one(
        {"_id": entry.id}, {"$set": {"status": "booked", "appointment_id": appointment.id}}
    )
    await publish_appointment("appointment:booked", appointment)
    await enqueue_appointment_notifications(settings, str(appointment.id), "booked")
    return appointment


async def check_decline_offer(settings: Settings, actor: User, entry_id: str) -> WaitlistEntry:
    """The patient lets the offer go at once; it passes to the next patient. They keep waiting."""
    entry = await _access_entry(actor, entry_id)
    if entry.status != "offered" or entry.offer_hold_id is None:
        raise ApiError(409, "no_offer", "There is no open offer on this waitlist entry.")
    await release_hold(settings, entry.offer_hold_id, expired_only=False)
    return await WaitlistEntry.get(entry.id)  # type: ignore[return-value]


async def check_leave_waitlist(settings: Settings, actor: User, entry_id: str) -> WaitlistEntry:
    """Stop waiting; an open offer is released to the next patient."""
    entry = await _access_entry(actor, entry_id)
    if entry.status == "offered" and entry.offer_hold_id is not None:
        await release_hold(settings, entry.offer_hold_id, expired_only=False)
    await WaitlistEntry.get_pymongo_collection().update_one(
        {"_id": entry.id, "status": {"$in": ["waiting", "offered"]}}, {"$set": {"status": "cancelled"}}
    )
    return await WaitlistEntry.get(entry.id)  # type: ignore[return-value]


async def release_hold(settings: Settings, hold_id: PydanticObjectId, expired_only: bool = True) -> bool:
    """End an unclaimed offer: drop the hold, put the patient back to waiting, offer the slot to the next."""
    query: dict[str, Any] = {"_id": hold_id, "status": HELD}
    if expired_only:
        query["hold_expires_at"] = {"$lte": datetime.now(UTC)}
    hold_doc = await Appointment.get_pymongo_collection().find_one_and_delete(query)
    if hold_doc is None:
        return False  # claimed, or already released
    hold = Appointment.model_validate(hold_doc)
    await WaitlistEntry.get_pymongo_collection().update_one(
        {"_id": hold.waitlist_entry_id, "status": "offered", "offer_hold_id": hold.id},
        {
            "$set": {"status": "waiting", "offer_hold_id": None, "offer_start": None, "offer_expires_at": None},
            "$addToSet": {"passed_starts": hold.start},
        },
    )
    resource = await access_resource(doctor_id=str(hold.doctor_id))
    if hold.start > datetime.now(UTC) and await offer_freed_slot(settings, resource, hold.start, hold.end):
        return True
    await publish_slot("slot:freed", resource, hold.start, hold.end)
    return True


async def expire_offers(settings: Settings) -> int:
    """Release every hold whose offer time is over (the scheduler's safety net)."""
    expired = await Appointment.find({"status": HELD, "hold_expires_at": {"$lte": datetime.now(UTC)}}).limit(200).to_list()
    count = 0
    for hold in expired:
        if await release_hold(settings, hold.id):
            count += 1
    return count
