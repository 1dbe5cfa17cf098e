"""Clinic onboarding and clinic staff: applications a platform admin decides, clinic admins who
invite their staff (clinic_admin, receptionist) by email, and removing staff.

An applicant's account is made with the application, inactive, so the outbox can email it (the
outbox sends to accounts); approval activates it as the new clinic's clinic_admin. An invited
member gets an account with no usable password and a link to choose one (a password-reset
token valid 7 days), which also verifies their email.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from engage.actions.accounts import check_registration_rate
from engage.actions.accounts import do_issue_secret
from engage.actions.accounts import do_notify_secret
from engage.actions.accounts import do_start_email_verification
from engage.actions.notifications import request_notification
from engage.actions.sessions import do_end_user_sessions
from engage.config import Settings
from engage.errors import ApiError
from engage.errors import not_found
from engage.lib.booking import access_clinic
from engage.lib.branding import logo_type
from engage.lib.clinic_staff import CLINIC_ADMIN_ROLES
from engage.lib.clinic_staff import STAFF_ROLES
from engage.lib.clinic_staff import check_clinic_scope
from engage.lib.passwords import hash_password
from engage.lib.passwords import password_problem
from engage.lib.users import access_user
from engage.models.account import ApplicationStatus
from engage.models.account import ClinicApplication
from engage.models.account import SecretPurpose
from engage.models.base import utcnow
from engage.models.branding import ClinicBranding
from engage.models.clinic import Clinic
from engage.models.user import Role
from engage.models.user import User
from schemas.accounts import ClinicApplicationOut
from schemas.accounts import ClinicApplicationRequest

log = logging.getLogger(__name__)

INVITE_TTL_SECONDS = 7 * 86400


def application_out(application: ClinicApplication) -> dict[str, Any]:
    return ClinicApplicationOut(
        id=str(application.id),
        clinic=application.clinic,
        applicant_id=str(application.applicant_id),
        applicant_name=application.applicant_name,
        applicant_email=application.applicant_email,
        status=application.status.value,
        reason=application.reason,
        clinic_id=str(application.clinic_id) if application.clinic_id else None,
        created_at=application.created_at,
        decided_at=application.decided_at,
    ).model_dump(mode="json")


def email_taken() -> ApiError:
    return ApiError(409, "email_taken", "An account with this email already exists.", field="email")


async def do_apply_for_clinic(settings: Settings, request: ClinicApplicationRequest, client_address: str | None) -> ClinicApplication:
    """A clinic applies: its applicant's account waits inactive; both get emails (verification, received)."""
    await check_registration_rate(settings, client_address)
    email = str(request.applicant.email).strip().lower()
    problem = password_problem(request.applicant.password, email)
    if problem:
        raise ApiError(422, "weak_password", problem, field="applicant.password")
    applicant = User(
        email=email,
        password_hash=await hash_password(request.applicant.password),
        name=request.applicant.name,
        role=Role.clinic_admin,
        active=False,
    )
    try:
        await applicant.insert()
    except DuplicateKeyError:
        raise email_taken() from None
    application = ClinicApplication(
        clinic=request.clinic.model_dump(mode="json"), applicant_id=applicant.id, applicant_name=applicant.name, applicant_email=email
    )
    await application.insert()
    await do_start_email_verification(settings, applicant)
    await request_notification(
        recipient_id=str(applicant.id),
        kind="clinic_application_received",
        idempotency_key=f"clinic-application-received:{application.id}",
        context={"clinic_name": request.clinic.name},
    )
    log.info("clinic application %s received", application.id)
    return application


async def list_applications(status: str | None) -> list[ClinicApplication]:
    query: dict = {"status": status} if status else {}
    return await ClinicApplication.find(query).sort("-created_at").limit(500).to_list()


async def _decide(application_id: str, admin: User, fields: dict) -> ClinicApplication:
    if not ObjectId.is_valid(application_id):
        raise not_found("Application")
    decided = await ClinicApplication.get_pymongo_collection().find_one_and_update(
        {"_id": ObjectId(application_id), "status": ApplicationStatus.pending.value},
        {"$set": {**fields, "decided_by": admin.id, "decided_at": utcnow()}},
        return_document=ReturnDocument.AFTER,
    )
    if decided is None:
        existing = await ClinicApplication.get(PydanticObjectId(application_id))
        if existing is None:
            raise not_found("Application")
        raise ApiError(409, "already_decided", f"This application was already {existing.status.value}.")
    return ClinicApplication.model_validate(decided)


async def do_approve_application(admin: User, application_id: str) -> ClinicApplication:
    """Create the clinic and make the applicant its clinic_admin (once)."""
    application = await _decide(application_id, admin, {"status": ApplicationStatus.approved.value})
    clinic = Clinic(**application.clinic)
    await clinic.insert()
    await ClinicApplication.get_pymongo_collection().update_one({"_id": application.id}, {"$set": {"clinic_id": clinic.id}})
    await User.get_pymongo_collection().update_one({"_id": application.applicant_id}, {"$set": {"active": True, "clinic_id": clinic.id}})
    await request_notification(
        recipient_id=str(application.applicant_id),
        kind="clinic_application_decided",
        idempotency_key=f"clinic-application-decided:{application.id}",
        context={"clinic_name": clinic.name, "approved": True, "reason": ""},
    )
    application.clinic_id = clinic.id
    return application


async def do_reject_application(admin: User, application_id: str, reason: str) -> ClinicApplication:
    """Turn the application down with a reason; the applicant's account stays inactive."""
    application = await _decide(application_id, admin, {"status": ApplicationStatus.rejected.value, "reason": reason})
    await request_notification(
        recipient_id=str(application.applicant_id),
        kind="clinic_application_decided",
        idempotency_key=f"clinic-application-decided:{application.id}",
        context={"clinic_name": application.clinic.get("name", ""), "approved": False, "reason": reason},
    )
    return application


async def check_invite_staff(settings: Settings, actor: User, clinic_id: str, email: str, name: str | None, role: str) -> User:
    """A clinic admin invites a member by email: a new account of that role at this clinic, and a
    link to choose a password."""
    check_clinic_scope(actor, clinic_id, CLINIC_ADMIN_ROLES)
    clinic = await access_clinic(clinic_id)
    email = email.strip().lower()
    member = User(
        email=email,
        # No usable password until the member picks one through the invitation link.
        password_hash=await hash_password(secrets.token_urlsafe(32)),
        name=name or email.split("@")[0],
        role=Role(role),
        clinic_id=clinic.id,
    )
    try:
        await member.insert()
    except DuplicateKeyError:
        raise email_taken() from None
    secret, token, _ = await do_issue_secret(
        settings, SecretPurpose.password_reset, member, INVITE_TTL_SECONDS, with_token=True, with_code=False, destination=email
    )
    await do_notify_secret("staff_invite", member, secret, {"token": token or "", "clinic_name": clinic.name, "role": role.replace("_", " ")}, INVITE_TTL_SECONDS)
    log.info("staff %s invited to clinic %s as %s", member.id, clinic.id, role)
    return member


async def check_list_staff(actor: User, clinic_id: str) -> list[User]:
    check_clinic_scope(actor, clinic_id, CLINIC_ADMIN_ROLES)
    clinic = await access_clinic(clinic_id)
    return await User.find({"clinic_id": clinic.id, "role": {"$in": list(STAFF_ROLES)}}).sort("name").to_list()


async def check_remove_staff(actor: User, clinic_id: str, user_id: str) -> User:
    """Remove a member from the clinic: their account is deactivated and signed out everywhere."""
    check_clinic_scope(actor, clinic_id, CLINIC_ADMIN_ROLES)
    member = await access_user(user_id)
    if member.role.value not in STAFF_ROLES or str(member.clinic_id) != str(clinic_id):
        raise not_found("Staff member")
    if member.id == actor.id:
        raise ApiError(409, "cannot_remove_self", "Ask another admin to remove you.")
    await User.get_pymongo_collection().update_one({"_id": member.id}, {"$set": {"active": False, "deactivated_at": utcnow(), "clinic_id": None}})
    await do_end_user_sessions(str(member.id), "removed_from_clinic")
    return await access_user(user_id)


# --- branding ---------------------------------------------------------------------------------------


def branding_out(clinic_id: str, branding: ClinicBranding | None) -> dict[str, Any]:
    has_logo = branding is not None and branding.logo is not None
    return {
        "clinic_id": str(clinic_id),
        "brand_color": branding.brand_color if branding else None,
        "logo_url": f"/api/clinics/{clinic_id}/logo?v={branding.logo_version}" if has_logo and branding else None,
    }


async def read_branding(clinic_id: str) -> dict[str, Any]:
    clinic = await access_clinic(clinic_id)
    return branding_out(str(clinic.id), await ClinicBranding.find_one({"clinic_id": clinic.id}))


async def read_logo(clinic_id: str) -> tuple[bytes, str]:
    clinic = await access_clinic(clinic_id)
    branding = await ClinicBranding.find_one({"clinic_id": clinic.id})
    if branding is None or branding.logo is None or branding.logo_type is None:
        raise not_found("Logo")
    return branding.logo, branding.logo_type


async def _set_branding(clinic_id: PydanticObjectId, fields: dict, inc_version: bool = False) -> ClinicBranding:
    update: dict[str, Any] = {"$set": {**fields, "updated_at": utcnow()}, "$setOnInsert": {"clinic_id": clinic_id}}
    if inc_version:
        update["$inc"] = {"logo_version": 1}
    doc = await ClinicBranding.get_pymongo_collection().find_one_and_update({"clinic_id": clinic_id}, update, upsert=True, return_document=ReturnDocument.AFTER)
    return ClinicBranding.model_validate(doc)


async def check_set_logo(actor: User, clinic_id: str, data: bytes) -> dict[str, Any]:
    """A clinic admin uploads the logo: PNG or SVG by its bytes, SVG refused unless it only draws."""
    check_clinic_scope(actor, clinic_id, CLINIC_ADMIN_ROLES)
    clinic = await access_clinic(clinic_id)
    media_type = logo_type(data)
    branding = await _set_branding(clinic.id, {"logo": data, "logo_type": media_type}, inc_version=True)
    return branding_out(str(clinic.id), branding)


async def check_set_brand_color(actor: User, clinic_id: str, color: str | None) -> dict[str, Any]:
    check_clinic_scope(actor, clinic_id, CLINIC_ADMIN_ROLES)
    clinic = await access_clinic(clinic_id)
    return branding_out(str(clinic.id), await _set_branding(clinic.id, {"brand_color": color.lower() if color else None}))
