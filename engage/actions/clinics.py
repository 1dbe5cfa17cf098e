"""Clinics, doctor profiles, availability and test centres."""

from __future__ import annotations

from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument

from engage.assistant.specialties import canonical_specialty
from engage.assistant.specialties import slug_specialties
from engage.assistant.specialties import specialty_catalogue
from engage.actions.clinic_doctors import PROFILE_FIELDS
from engage.actions.clinic_doctors import do_request_clinic
from engage.actions.clinic_doctors import do_withdraw_requests
from engage.actions.clinic_doctors import pending_request
from engage.errors import ApiError
from engage.errors import forbidden
from engage.lib.booking import access_clinic
from engage.lib.booking import access_doctor_profile
from engage.lib.users import listed_doctor_ids
from engage.lib.users import access_user
from engage.models.base import utcnow
from engage.models.clinic import Availability
from engage.models.clinic import Clinic
from engage.models.clinic import DoctorProfile
from engage.models.clinic import TestCentre
from engage.models.clinic_membership import ClinicMembership
from engage.models.user import Role
from engage.models.user import User
from schemas.booking import AvailabilityRequest
from schemas.booking import ClinicCreateRequest
from schemas.booking import DoctorProfileRequest
from schemas.booking import TestCentreCreateRequest


async def do_create_clinic(request: ClinicCreateRequest) -> Clinic:
    """Create a clinic (admins)."""
    clinic = Clinic(**request.model_dump())
    await clinic.insert()
    return clinic


def _may_edit_doctor(actor: User, doctor_id: str) -> None:
    if actor.role == Role.admin or (actor.role == Role.doctor and str(actor.id) == doctor_id):
        return
    raise forbidden("Only the doctor or an administrator can change this profile.")


async def check_update_doctor_profile(
    actor: User, doctor_id: str, request: DoctorProfileRequest
) -> tuple[DoctorProfile | None, ClinicMembership | None]:
    """Set a doctor's specialties, bio and fee (the doctor or an admin), and their clinic.

    A platform admin places the doctor at a clinic at once. A doctor's clinic_id is a request to
    join that clinic (engage/actions/clinic_doctors.py): they stay where they are until it is
    approved, and a first profile waits in the request. Returns the profile (None while a first
    request waits) and the pending request, if any.
    """
    _may_edit_doctor(actor, doctor_id)
    doctor = await access_user(doctor_id, Role.doctor, what="Doctor")
    fields: dict[str, Any] = {k: v for k, v in request.model_dump(exclude_unset=True).items() if k != "clinic_id"}
    fields["doctor_name"] = doctor.name
    if "specialties" in fields:
        # "Family medicine" and "General practice" are the catalogue's general_practice.
        fields["specialties"] = slug_specialties(fields["specialties"])
    fields["updated_at"] = utcnow()
    clinic = await access_clinic(request.clinic_id, "clinic_id") if request.clinic_id is not None else None
    existing = await DoctorProfile.find_one({"doctor_id": doctor.id})
    if existing is None and clinic is None:
        waiting = await pending_request(doctor.id) if actor.role == Role.doctor else None
        if waiting is None:
            raise ApiError(422, "validation_error", "clinic_id: required for a doctor's first profile.", field="clinic_id")
        clinic = await access_clinic(str(waiting.clinic_id))  # edits to a first profile that still waits
    if actor.role == Role.admin:
        if clinic is not None:
            fields.update(clinic_id=clinic.id, clinic_name=clinic.name, timezone=clinic.timezone)
            await do_withdraw_requests(doctor.id)
        return await _save_profile(doctor, existing, fields), None
    if clinic is not None and existing is not None and existing.clinic_id == clinic.id:
        await do_withdraw_requests(doctor.id)  # back to the clinic they are at: nothing to ask
    elif clinic is not None:
        first = {k: v for k, v in fields.items() if k in PROFILE_FIELDS} if existing is None else {}
        await do_request_clinic(doctor, clinic, first)
    profile = await _save_profile(doctor, existing, fields) if existing is not None else None
    return profile, await pending_request(doctor.id)


async def _save_profile(doctor: User, existing: DoctorProfile | None, fields: dict[str, Any]) -> DoctorProfile:
    if existing is None:
        profile = DoctorProfile(doctor_id=doctor.id, **fields)
        await profile.insert()
        return profile
    updated = await DoctorProfile.get_pymongo_collection().find_one_and_update(
        {"_id": existing.id}, {"$set": fields}, return_document=ReturnDocument.AFTER
    )
    return DoctorProfile.model_validate(updated)


async def check_set_availability(actor: User, doctor_id: str, request: AvailabilityRequest) -> DoctorProfile:
    """Replace a doctor's weekly availability and exceptions (clinic local time).

    Existing appointments stay; slots that would overlap them are simply not offered.
    """
    _may_edit_doctor(actor, doctor_id)
    profile = await access_doctor_profile(doctor_id, listed_only=False)
    availability = Availability.model_validate(request.model_dump(mode="json"))
    updated = await DoctorProfile.get_pymongo_collection().find_one_and_update(
        {"_id": profile.id},
        {"$set": {"availability": availability.model_dump(), "updated_at": utcnow()}},
        return_document=ReturnDocument.AFTER,
    )
    return DoctorProfile.model_validate(updated)


async def do_create_test_centre(request: TestCentreCreateRequest) -> TestCentre:
    """Create a diagnostic test centre with hourly slots (admins)."""
    clinic = await access_clinic(request.clinic_id, "clinic_id")
    availability = Availability.model_validate(
        {"slot_minutes": 60, "buffer_minutes": 0, **request.model_dump(mode="json", include={"weekly", "exceptions"})}
    )
    centre = TestCentre(
        name=request.name,
        kind=request.kind,
        clinic_id=clinic.id,
        clinic_name=clinic.name,
        timezone=clinic.timezone,
        capacity=request.capacity,
        availability=availability,
    )
    await centre.insert()
    return centre


async def list_doctor_profiles(specialty: str | None, clinic_id: str | None) -> list[DoctorProfile]:
    query: dict[str, Any] = {}
    if specialty:
        cleaned = " ".join(specialty.split()).lower()
        query["specialties"] = canonical_specialty(cleaned) or cleaned
    if clinic_id:
        query["clinic_id"] = PydanticObjectId(clinic_id)
    profiles = await DoctorProfile.find(query).sort("doctor_name").limit(500).to_list()
    listed = await listed_doctor_ids([p.doctor_id for p in profiles])
    return [p for p in profiles if p.doctor_id in listed]


async def list_specialties() -> list[dict[str, Any]]:
    """Every catalogue specialty (slug, display name, doctors), then free text that profiles still
    hold and that matches no slug (slug null), by name."""
    pipeline = [{"$unwind": "$specialties"}, {"$group": {"_id": "$specialties", "doctors": {"$sum": 1}}}, {"$sort": {"_id": 1}}]
    cursor = await DoctorProfile.get_pymongo_collection().aggregate(pipeline)
    counts = {row["_id"]: row["doctors"] async for row in cursor}
    catalogue = specialty_catalogue()
    listed = [{"slug": slug, "name": specialty.name, "doctors": counts.get(slug, 0)} for slug, specialty in catalogue.items()]
    return listed + [{"slug": None, "name": name, "doctors": n} for name, n in counts.items() if name not in catalogue]


async def list_test_centres(kind: str | None, clinic_id: str | None) -> list[TestCentre]:
    query: dict[str, Any] = {}
    if kind:
        query["kind"] = kind
    if clinic_id:
        query["clinic_id"] = PydanticObjectId(clinic_id)
    return await TestCentre.find(query).sort("name").to_list()


async def list_clinics() -> list[Clinic]:
    return await Clinic.find({}).sort("name").to_list()
