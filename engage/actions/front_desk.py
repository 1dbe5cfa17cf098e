"""A clinic's front desk: receptionists (and the clinic's clinic_admin, and platform admins) book,
move, cancel and check in appointments for the clinic's patients.

Everything goes through the one booking engine (engage.actions.booking): a desk booking is the same
insert a patient's is, so the unique indexes still decide every race, the same slot events go to
the schedule's watchers, and the patient gets the same notifications and socket events. What the
desk adds is scope (only this clinic's doctors, test centres and appointments), patient search,
check-in, and an audit entry for every patient whose data a desk member sees or changes.

Patient search: a fragment of a name, email or phone finds only the clinic's own patients (an
appointment at the clinic, any status, or an open care relation with one of its doctors); a whole
email address finds any active patient account, so the desk can book someone new to the clinic,
and then answers only the id, name and the email the desk already typed (never the phone).

Diagnostics tokens: every appointment carries a short unique token (ABCD-EFGH) the patient is sent
with the booking; the desk sees each appointment's token in the day list and finds an appointment
of its clinic by the token a patient reads out, then checks them in.
"""

from __future__ import annotations

import re
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from bson import ObjectId

from engage.actions.audit import record_health_data_access
from engage.actions.audit import record_staff_access
from engage.actions.booking import check_start
from engage.actions.booking import do_book
from engage.actions.booking import do_cancel
from engage.actions.booking import do_reschedule
from engage.actions.booking import do_set_status
from engage.actions.booking import find_by_token
from engage.actions.booking import require_active
from engage.config import Settings
from engage.errors import ApiError
from engage.lib.booking import access_clinic
from engage.lib.booking import access_resource
from engage.lib.booking import appointment_out
from engage.lib.booking import resource_of
from engage.lib.clinic_staff import FRONT_DESK_ROLES
from engage.lib.clinic_staff import check_clinic_scope
from engage.models.appointment import ACTIVE_STATUSES
from engage.models.appointment import CHECKED_IN
from engage.models.appointment import HELD
from engage.models.appointment import Appointment
from engage.models.care import CareRelation
from engage.models.care import CareSource
from engage.models.clinic import Clinic
from engage.models.clinic import DoctorProfile
from engage.models.clinic import TestCentre
from engage.models.user import Role
from engage.models.user import User
from schemas.front_desk import FrontDeskAppointmentOut
from schemas.front_desk import FrontDeskBookRequest
from schemas.front_desk import PatientMatchOut

SEARCH_LIMIT = 20
DAY_LIMIT = 1000


# ---- access ----


async def access_front_desk(actor: User, clinic_id: str) -> Clinic:
    """The clinic in the path, if the actor works its front desk (or is a platform admin); else 403/404."""
    check_clinic_scope(actor, clinic_id, FRONT_DESK_ROLES)
    return await access_clinic(clinic_id)


async def clinic_resource_ids(clinic: Clinic) -> tuple[list[PydanticObjectId], list[PydanticObjectId]]:
    """The ids of the clinic's doctors and of its test centres."""
    doctors = await DoctorProfile.get_pymongo_collection().find({"clinic_id": clinic.id}, {"doctor_id": 1}).to_list(None)
    centres = await TestCentre.get_pymongo_collection().find({"clinic_id": clinic.id}, {"_id": 1}).to_list(None)
    return [PydanticObjectId(d["doctor_id"]) for d in doctors], [PydanticObjectId(c["_id"]) for c in centres]


async def access_clinic_appointment(clinic: Clinic, appointment_id: str) -> Appointment:
    """An appointment of this clinic, or a 404 (another clinic's appointments do not exist here)."""
    if not ObjectId.is_valid(appointment_id):
        raise ApiError(404, "not_found", "Appointment was not found.")
    appointment = await Appointment.get(PydanticObjectId(appointment_id))
    if appointment is None or appointment.status == HELD or appointment.clinic_id != clinic.id:
        raise ApiError(404, "not_found", "Appointment was not found.")
    return appointment


def desk_appointment_out(appointment: Appointment, patient: User | None) -> dict[str, Any]:
    return FrontDeskAppointmentOut(
        **appointment_out(appointment),
        patient_name=patient.name if patient else "(account removed)",
        patient_phone=patient.phone if patient else None,
    ).model_dump(mode="json")


async def _with_patient(appointment: Appointment) -> dict[str, Any]:
    return desk_appointment_out(appointment, await User.get(appointment.patient_id))


async def _audit(actor: User, appointment: Appointment, action: str) -> None:
    await record_health_data_access(str(actor.id), actor.role.value, str(appointment.patient_id), action, f"appointment:{appointment.id}")


# ---- the day ----


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """A local calendar day as a UTC half-open interval (23 or 25 hours on DST days)."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def clinic_today(clinic: Clinic) -> date:
    return datetime.now(ZoneInfo(clinic.timezone)).date()


async def list_day(actor: User, clinic_id: str, day: date | None) -> tuple[Clinic, date, list[dict[str, Any]]]:
    """The clinic's doctor and test-centre appointments on one local day, with patient names (audited)."""
    clinic = await access_front_desk(actor, clinic_id)
    day = day or clinic_today(clinic)
    start, end = day_bounds(day, clinic.timezone)
    doctors, centres = await clinic_resource_ids(clinic)
    resources = doctors + centres
    if not resources:
        return clinic, day, []
    # Bounded on the resource_start index; clinic_id keeps a doctor's appointments at a former clinic out.
    appointments = (
        await Appointment.find(
            {"resource_id": {"$in": resources}, "start": {"$gte": start, "$lt": end}, "clinic_id": clinic.id, "status": {"$ne": HELD}}
        )
        .sort("start")
        .limit(DAY_LIMIT)
        .to_list()
    )
    patient_ids = list({a.patient_id for a in appointments})
    patients = {u.id: u for u in await User.find({"_id": {"$in": patient_ids}}).to_list()} if patient_ids else {}
    await record_staff_access(str(actor.id), actor.role.value, [str(p) for p in patient_ids], "appointment.list", f"clinic:{clinic.id}:day:{day}")
    return clinic, day, [desk_appointment_out(a, patients.get(a.patient_id)) for a in appointments]


async def check_find_by_token(actor: User, clinic_id: str, token: str) -> dict[str, Any]:
    """An appointment of this clinic by the token the patient reads out (audited)."""
    clinic = await access_front_desk(actor, clinic_id)
    appointment = await find_by_token(token)
    if appointment.clinic_id != clinic.id:
        raise ApiError(404, "not_found", "No booking of this clinic has this token.")
    await _audit(actor, appointment, "appointment.read")
    return await _with_patient(appointment)


# ---- patients ----


async def clinic_patient_ids(clinic: Clinic) -> set[PydanticObjectId]:
    """Patients with an appointment at the clinic (any status) or an open care relation with one of its doctors."""
    doctors, centres = await clinic_resource_ids(clinic)
    resources = doctors + centres
    if not resources:
        return set()
    booked = await Appointment.get_pymongo_collection().distinct(
        "patient_id", {"resource_id": {"$in": resources}, "clinic_id": clinic.id, "status": {"$ne": HELD}}
    )
    # Break-glass access is not a reason for the desk to know someone.
    open_relations = {
        "doctor_id": {"$in": doctors},
        "source": {"$ne": CareSource.emergency.value},
        "ended_at": None,
        "$or": [{"until": None}, {"until": {"$gt": datetime.now(UTC)}}],
    }
    related = await CareRelation.get_pymongo_collection().distinct("patient_id", open_relations) if doctors else []
    return {PydanticObjectId(p) for p in [*booked, *related]}


def _is_whole_email(q: str) -> bool:
    return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", q) is not None


async def search_patients(actor: User, clinic_id: str, q: str) -> list[dict[str, Any]]:
    """Patients matching q (see the module docstring for who can be found); every match is audited."""
    clinic = await access_front_desk(actor, clinic_id)
    own = await clinic_patient_ids(clinic)
    matches: dict[PydanticObjectId, PatientMatchOut] = {}
    if own:
        pattern = {"$regex": re.escape(q), "$options": "i"}
        phone_digits = re.sub(r"\D", "", q)
        fields: list[dict[str, Any]] = [{"name": pattern}, {"email": pattern}]
        if len(phone_digits) >= 3:
            fields.append({"phone": {"$regex": re.escape(phone_digits)}})
        found = await User.find({"_id": {"$in": list(own)}, "role": Role.patient.value, "active": True, "$or": fields}).sort("name").limit(SEARCH_LIMIT).to_list()
        for user in found:
            matches[user.id] = PatientMatchOut(id=str(user.id), name=user.name, email=user.email, phone=user.phone, clinic_patient=True)
    if _is_whole_email(q):
        user = await User.find_one({"email": q.lower(), "role": Role.patient.value, "active": True})
        if user is not None and user.id not in matches:
            # Someone new to the clinic: only what the desk needs to book them.
            matches[user.id] = PatientMatchOut(id=str(user.id), name=user.name, email=user.email, phone=None, clinic_patient=user.id in own)
    await record_staff_access(str(actor.id), actor.role.value, [str(p) for p in matches], "patient.search", f"clinic:{clinic.id}")
    return [m.model_dump(mode="json") for m in matches.values()]


# ---- booking, moving, cancelling, checking in ----


async def check_front_desk_book(settings: Settings, actor: User, clinic_id: str, request: FrontDeskBookRequest) -> dict[str, Any]:
    """Book a patient with one of the clinic's doctors or test centres: the patient's own booking path."""
    clinic = await access_front_desk(actor, clinic_id)
    patient = await User.get(PydanticObjectId(request.patient_id))
    if patient is None or patient.role != Role.patient or not patient.active:
        raise ApiError(404, "not_found", "Patient was not found.", field="patient_id")
    resource = await access_resource(request.doctor_id, request.test_centre_id)
    if resource.clinic_id != clinic.id:
        field = "doctor_id" if request.doctor_id else "test_centre_id"
        raise ApiError(404, "not_found", f"{resource.name} does not work at this clinic.", field=field)
    now = datetime.now(UTC)
    start = check_start(settings, resource, request.start, now)
    try:
        appointment = await do_book(settings, resource, patient.id, start, request.client_id, request.reason, booked_by=actor.id, now=now)
    except ApiError as exc:
        if exc.code == "patient_overlap":
            raise ApiError(409, "patient_overlap", "The patient already has an appointment at this time.", field="start") from None
        raise
    await _audit(actor, appointment, "appointment.book")
    return desk_appointment_out(appointment, patient)


async def check_front_desk_reschedule(settings: Settings, actor: User, clinic_id: str, appointment_id: str, new_start: datetime) -> dict[str, Any]:
    """Move an appointment of the clinic (no cutoff for the desk: it is how patients who call get moved)."""
    clinic = await access_front_desk(actor, clinic_id)
    appointment = await access_clinic_appointment(clinic, appointment_id)
    require_active(appointment)
    now = datetime.now(UTC)
    resource = await resource_of(appointment)
    start = check_start(settings, resource, new_start, now)
    if start != appointment.start:
        appointment = await do_reschedule(settings, resource, appointment, start, now)
    await _audit(actor, appointment, "appointment.reschedule")
    return await _with_patient(appointment)


async def check_front_desk_cancel(settings: Settings, actor: User, clinic_id: str, appointment_id: str, reason: str) -> dict[str, Any]:
    """Cancel an appointment of the clinic with a reason the patient is told; cancelling twice is harmless."""
    clinic = await access_front_desk(actor, clinic_id)
    appointment = await access_clinic_appointment(clinic, appointment_id)
    if appointment.status != "cancelled":
        require_active(appointment)
        appointment = await do_cancel(settings, appointment, actor.role.value, reason)
    await _audit(actor, appointment, "appointment.cancel")
    return await _with_patient(appointment)


async def check_check_in(settings: Settings, actor: User, clinic_id: str, appointment_id: str) -> dict[str, Any]:
    """The patient has arrived: checked_in, on the appointment's own local day only; twice is harmless."""
    clinic = await access_front_desk(actor, clinic_id)
    appointment = await access_clinic_appointment(clinic, appointment_id)
    if appointment.status != CHECKED_IN:
        if appointment.status not in ACTIVE_STATUSES:
            raise ApiError(409, "appointment_not_active", f"The appointment is {appointment.status}.")
        tz = ZoneInfo(appointment.timezone)
        if appointment.start.astimezone(tz).date() != datetime.now(tz).date():
            raise ApiError(409, "not_today", "Patients are checked in on the day of their appointment.")
        appointment = await do_set_status(settings, appointment, CHECKED_IN)
    await _audit(actor, appointment, "appointment.check_in")
    return await _with_patient(appointment)
