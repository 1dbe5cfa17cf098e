"""Doctors joining clinics: a doctor asks (PATCH /api/doctors/{id} {clinic_id}), the clinic's admin
(or a platform admin) approves or rejects, and the doctor is emailed the decision.

A request never moves a doctor by itself: a doctor with a clinic stays listed and bookable there
until the new clinic approves, and a doctor's first profile is only created on approval (from the
fields the request carried), so nobody is listed under a clinic that did not accept them. A doctor
has at most one pending request; a newer one withdraws it. A platform admin setting the clinic
applies at once and withdraws any pending request.
"""

from __future__ import annotations

import logging
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from engage.actions.audit import record_clinic_event
from engage.actions.care import audit_filters
from engage.actions.care import audit_page
from engage.actions.clinic_staff import branding_out
from engage.actions.notifications import request_notification
from engage.errors import ApiError
from engage.lib.booking import access_clinic
from engage.lib.booking import clinic_out
from engage.lib.by_ids import documents_by_ids
from engage.lib.clinic_staff import CLINIC_ADMIN_ROLES
from engage.lib.clinic_of import clinic_id_of
from engage.lib.clinic_staff import check_clinic_scope
from engage.lib.stats import clinic_stats
from engage.lib.users import access_user
from engage.models.base import utcnow
from engage.models.branding import ClinicBranding
from engage.models.clinic import Availability
from engage.models.clinic import Clinic
from engage.models.clinic import DoctorProfile
from engage.models.clinic_membership import ClinicMembership
from engage.models.clinic_membership import MembershipStatus
from engage.models.user import Role
from engage.models.user import User
from schemas.care import AuditPage
from schemas.care import AuditQuery
from schemas.clinic_doctors import ClinicDoctorOut
from schemas.clinic_doctors import MyClinicOut
from schemas.stats import StatsOut

log = logging.getLogger(__name__)

# The profile fields a first request carries until approval creates the profile.
PROFILE_FIELDS = ("specialties", "bio", "fee")


def membership_out(membership: ClinicMembership, doctor: User | None) -> dict[str, Any]:
    return ClinicDoctorOut(
        id=str(membership.id),
        doctor_id=str(membership.doctor_id),
        doctor_name=doctor.name if doctor else membership.doctor_name,
        doctor_email=doctor.email if doctor else membership.doctor_email,
        account_approved=bool(doctor and doctor.approved and doctor.active),
        clinic_id=str(membership.clinic_id),
        clinic_name=membership.clinic_name,
        status=membership.status.value,
        specialties=list(membership.profile.get("specialties") or []),
        reason=membership.reason,
        requested_at=membership.requested_at,
        decided_at=membership.decided_at,
    ).model_dump(mode="json")


def _member_out(profile: DoctorProfile, doctor: User | None, approval: ClinicMembership | None) -> dict[str, Any]:
    return ClinicDoctorOut(
        id=str(approval.id) if approval else None,
        doctor_id=str(profile.doctor_id),
        doctor_name=profile.doctor_name,
        doctor_email=doctor.email if doctor else None,
        account_approved=bool(doctor and doctor.approved and doctor.active),
        clinic_id=str(profile.clinic_id),
        clinic_name=profile.clinic_name,
        status=MembershipStatus.approved.value,
        specialties=profile.specialties,
        reason=None,
        requested_at=approval.requested_at if approval else None,
        decided_at=approval.decided_at if approval else None,
    ).model_dump(mode="json")


async def do_request_clinic(doctor: User, clinic: Clinic, profile_fields: dict[str, Any]) -> ClinicMembership:
    """Ask to join the clinic: one pending request per doctor (a request for another clinic withdraws it)."""
    collection = ClinicMembership.get_pymongo_collection()
    pending = {"doctor_id": doctor.id, "status": MembershipStatus.pending.value}
    same = await collection.find_one_and_update(
        {**pending, "clinic_id": clinic.id}, {"$set": {"profile": profile_fields}}, return_document=ReturnDocument.AFTER
    )
    if same is not None:
        return ClinicMembership.model_validate(same)
    membership = ClinicMembership(
        doctor_id=doctor.id, doctor_name=doctor.name, doctor_email=doctor.email, clinic_id=clinic.id, clinic_name=clinic.name, profile=profile_fields
    )
    for _ in range(3):
        await do_withdraw_requests(doctor.id)
        try:
            await membership.insert()
            break
        except DuplicateKeyError:
            membership.id = None  # a request sent at the same moment won the index: the later one stands
    else:
        raise ApiError(409, "request_conflict", "Another request to join a clinic is being made at this moment; try again.", field="clinic_id")
    await record_clinic_event(doctor, doctor.id, "clinic.doctor_requested", clinic.id)
    log.info("doctor %s asked to join clinic %s", doctor.id, clinic.id)
    return membership


async def do_withdraw_requests(doctor_id: PydanticObjectId) -> None:
    """The doctor's pending request no longer stands (a newer one, or an admin placed them)."""
    await ClinicMembership.get_pymongo_collection().update_many(
        {"doctor_id": doctor_id, "status": MembershipStatus.pending.value},
        {"$set": {"status": MembershipStatus.withdrawn.value, "decided_at": utcnow()}},
    )


async def pending_request(doctor_id: PydanticObjectId) -> ClinicMembership | None:
    return await ClinicMembership.find_one({"doctor_id": doctor_id, "status": MembershipStatus.pending.value})


async def check_list_clinic_doctors(actor: User, clinic_id: str, status: str) -> list[dict[str, Any]]:
    """Requests to join the clinic by status; "approved" lists the clinic's doctors now."""
    check_clinic_scope(actor, clinic_id, CLINIC_ADMIN_ROLES)
    clinic = await access_clinic(clinic_id)
    if status == MembershipStatus.approved.value:
        profiles = await DoctorProfile.find({"clinic_id": clinic.id}).sort("doctor_name").limit(500).to_list()
        doctors = {u.id: u for u in await documents_by_ids(User, [p.doctor_id for p in profiles])}
        approvals = await ClinicMembership.find({"clinic_id": clinic.id, "status": MembershipStatus.approved.value}).sort("requested_at").to_list()
        latest = {m.doctor_id: m for m in approvals}
        return [_member_out(p, doctors.get(p.doctor_id), latest.get(p.doctor_id)) for p in profiles]
    rows = await ClinicMembership.find({"clinic_id": clinic.id, "status": status}).sort("-requested_at").limit(500).to_list()
    doctors = {u.id: u for u in await documents_by_ids(User, [m.doctor_id for m in rows])}
    return [membership_out(m, doctors.get(m.doctor_id)) for m in rows]


async def _decide(actor: User, clinic_id: str, doctor_id: str, fields: dict[str, Any]) -> tuple[Clinic, ClinicMembership]:
    check_clinic_scope(actor, clinic_id, CLINIC_ADMIN_ROLES)
    clinic = await access_clinic(clinic_id)
    doctor = await access_user(doctor_id, Role.doctor, what="Doctor")
    decided = await ClinicMembership.get_pymongo_collection().find_one_and_update(
        {"doctor_id": doctor.id, "clinic_id": clinic.id, "status": MembershipStatus.pending.value},
        {"$set": {**fields, "decided_by": actor.id, "decided_at": utcnow()}},
        return_document=ReturnDocument.AFTER,
    )
    if decided is None:
        raise ApiError(404, "not_found", "This doctor has no pending request to join this clinic.")
    return clinic, ClinicMembership.model_validate(decided)


async def _notify_decision(membership: ClinicMembership, approved: bool, reason: str) -> None:
    await request_notification(
        recipient_id=str(membership.doctor_id),
        kind="clinic_membership_decided",
        idempotency_key=f"clinic-membership-decided:{membership.id}",
        context={"clinic_name": membership.clinic_name, "approved": approved, "reason": reason},
    )


async def check_approve_clinic_doctor(actor: User, clinic_id: str, doctor_id: str) -> dict[str, Any]:
    """Approve the doctor's pending request: their profile moves to (or is created at) this clinic."""
    clinic, membership = await _decide(actor, clinic_id, doctor_id, {"status": MembershipStatus.approved.value})
    # The clinic's time zone comes along: weekly hours are read in the local time of the clinic.
    on_insert = {"doctor_name": membership.doctor_name, "availability": Availability().model_dump(), "specialties": [], "bio": None, "fee": None}
    on_insert.update({k: membership.profile[k] for k in PROFILE_FIELDS if k in membership.profile})
    await DoctorProfile.get_pymongo_collection().find_one_and_update(
        {"doctor_id": membership.doctor_id},
        {"$set": {"clinic_id": clinic.id, "clinic_name": clinic.name, "timezone": clinic.timezone, "updated_at": utcnow()}, "$setOnInsert": on_insert},
        upsert=True,
    )
    await record_clinic_event(actor, membership.doctor_id, "clinic.doctor_approved", clinic.id)
    await _notify_decision(membership, True, "")
    log.info("doctor %s joined clinic %s", membership.doctor_id, clinic.id)
    return membership_out(membership, await User.get(membership.doctor_id))


async def check_reject_clinic_doctor(actor: User, clinic_id: str, doctor_id: str, reason: str) -> dict[str, Any]:
    """Turn the request down with a reason; the doctor stays where they were."""
    clinic, membership = await _decide(actor, clinic_id, doctor_id, {"status": MembershipStatus.rejected.value, "reason": reason})
    await record_clinic_event(actor, membership.doctor_id, "clinic.doctor_rejected", clinic.id, reason)
    await _notify_decision(membership, False, reason)
    return membership_out(membership, await User.get(membership.doctor_id))


async def clinic_people_ids(clinic: Clinic) -> list[PydanticObjectId]:
    """The clinic's doctors (profiles there now) and its staff accounts."""
    doctors = [p["doctor_id"] async for p in DoctorProfile.get_pymongo_collection().find({"clinic_id": clinic.id}, {"doctor_id": 1})]
    staff = [u["_id"] async for u in User.get_pymongo_collection().find({"clinic_id": clinic.id}, {"_id": 1})]
    return [PydanticObjectId(i) for i in doctors + staff]



async def check_clinic_stats(actor: User, clinic_id: str, days: int) -> StatsOut:
    """The admin statistics for one clinic: its appointments, and response times of its doctors now."""
    check_clinic_scope(actor, clinic_id, CLINIC_ADMIN_ROLES)
    clinic = await access_clinic(clinic_id)
    doctors = {str(p["doctor_id"]) async for p in DoctorProfile.get_pymongo_collection().find({"clinic_id": clinic.id}, {"doctor_id": 1})}
    return await clinic_stats(days, clinic.id, doctors)


async def check_clinic_audit(actor: User, clinic_id: str, query: AuditQuery) -> AuditPage:
    """The clinic's audit log: what its own people (its doctors now, and its staff accounts) did,
    whoever it was about, and decisions about the clinic itself (doctors asking to join, approvals,
    rejections: resource "clinic:<id>"), with /api/admin/audit's filters and paging.

    Other clinics' doctors opening a shared patient's record stay out: that is their clinic's log,
    and the patient's own access log shows it to the patient. A doctor who moves clinics takes
    their past entries along (the scope is who belongs to the clinic now)."""
    check_clinic_scope(actor, clinic_id, CLINIC_ADMIN_ROLES)
    clinic = await access_clinic(clinic_id)
    scope = {"$or": [{"actor_id": {"$in": await clinic_people_ids(clinic)}}, {"resource": f"clinic:{clinic.id}"}]}
    filters = {**audit_filters(query.actor_id, query.subject_id, query.action, query.emergency), **scope}
    return await audit_page(filters, query.limit, query.before)


async def read_my_clinic(user: User) -> MyClinicOut:
    """The signed-in user's clinic and its branding (engage/lib/clinic_of.py says which clinic)."""
    clinic_id = await clinic_id_of(user)
    clinic = await Clinic.get(clinic_id) if clinic_id else None
    waiting = await pending_request(user.id) if user.role == Role.doctor else None
    clinic_request = membership_out(waiting, user) if waiting else None
    if clinic is None:
        return MyClinicOut.model_validate({"clinic": None, "branding": None, "clinic_request": clinic_request})
    branding = branding_out(str(clinic.id), await ClinicBranding.find_one({"clinic_id": clinic.id}))
    return MyClinicOut.model_validate({"clinic": clinic_out(clinic), "branding": branding, "clinic_request": clinic_request})
