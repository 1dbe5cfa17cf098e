"""Creating accounts, and approving or rejecting doctors' accounts."""

from __future__ import annotations

import logging

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from engage.actions.notifications import request_notification
from engage.actions.sessions import do_end_user_sessions
from engage.errors import ApiError
from engage.lib.passwords import hash_password
from engage.lib.passwords import password_problem
from engage.lib.users import DOCTOR_APPROVAL_FILTERS
from engage.lib.users import access_user
from engage.models.base import utcnow
from engage.models.user import Role
from engage.models.user import User
from schemas.users import RegisterRequest

log = logging.getLogger(__name__)


async def do_register_user(request: RegisterRequest) -> User:
    """Create a patient (active at once) or a doctor (waiting for approval)."""
    email = request.email.strip().lower()
    problem = password_problem(request.password, email)
    if problem:
        raise ApiError(422, "weak_password", problem, field="password")
    user = User(
        email=email,
        password_hash=await hash_password(request.password),
        name=request.name,
        role=Role(request.role),
        approved=request.role != "doctor",
        phone=request.phone,
        timezone=request.timezone,
    )
    try:
        await user.insert()
    except DuplicateKeyError:
        raise ApiError(409, "email_taken", "An account with this email already exists.", field="email") from None
    log.info("registered %s %s", user.role.value, user.id)
    return user


async def do_approve_doctor(doctor_id: str) -> User:
    """Let a doctor log in; an earlier rejection is cleared. Approving twice is harmless."""
    doctor = await access_user(doctor_id, Role.doctor, what="Doctor")
    if doctor.approved:
        return doctor
    approved = await User.get_pymongo_collection().find_one_and_update(
        {"_id": doctor.id},
        {"$set": {"approved": True, "approved_at": utcnow(), "rejected_at": None, "rejection_reason": None, "rejected_by": None}},
        return_document=ReturnDocument.AFTER,
    )
    return User.model_validate(approved)


async def do_reject_doctor(doctor_id: str, reason: str, admin: User) -> User:
    """Turn a doctor's account down with a reason: it cannot sign in, its sessions end now, and the
    doctor is emailed the reason. Rejecting again for the same reason changes and sends nothing."""
    doctor = await access_user(doctor_id, Role.doctor, what="Doctor")
    rejected_at = utcnow()
    # One atomic write decides whether this is a new decision, so a double click emails once.
    rejected = await User.get_pymongo_collection().find_one_and_update(
        {"_id": doctor.id, "$or": [{"rejected_at": None}, {"rejection_reason": {"$ne": reason}}]},
        {"$set": {"approved": False, "rejected_at": rejected_at, "rejection_reason": reason, "rejected_by": admin.id}},
        return_document=ReturnDocument.AFTER,
    )
    if rejected is None:
        return doctor
    doctor = User.model_validate(rejected)
    ended = await do_end_user_sessions(str(doctor.id), "doctor_rejected")
    await request_notification(
        recipient_id=str(doctor.id),
        kind="doctor_account_rejected",
        idempotency_key=f"doctor-account-rejected:{doctor.id}:{rejected_at.timestamp():.6f}",
        context={"reason": reason},
    )
    log.info("doctor %s rejected by %s; %d sessions ended", doctor.id, admin.id, ended)
    return doctor


async def list_doctors(status: str | None) -> list[User]:
    """Doctors by approval: pending (neither approved nor rejected), approved, rejected, or all."""
    query = dict(DOCTOR_APPROVAL_FILTERS.get(status or "", {"role": Role.doctor.value}))
    return await User.find(query).sort("created_at").to_list()


async def ensure_admin(email: str, password: str) -> User | None:
    """Create the first admin from settings unless an account with that email exists."""
    email = email.strip().lower()
    existing = await User.find_one({"email": email})
    if existing is not None:
        return None
    admin = User(email=email, password_hash=await hash_password(password), name="Administrator", role=Role.admin)
    try:
        await admin.insert()
    except DuplicateKeyError:  # another web process created it first
        return None
    log.info("created admin %s", email)
    return admin
