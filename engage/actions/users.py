"""Creating and approving accounts."""

from __future__ import annotations

import logging

from pymongo.errors import DuplicateKeyError

from engage.errors import ApiError
from engage.lib.passwords import hash_password
from engage.lib.passwords import password_problem
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
    """Let a doctor log in. Approving twice is harmless."""
    doctor = await access_user(doctor_id, Role.doctor, what="Doctor")
    if not doctor.approved:
        doctor.approved = True
        doctor.approved_at = utcnow()
        await doctor.save()
    return doctor


async def list_doctors(status: str | None) -> list[User]:
    query: dict = {"role": Role.doctor.value}
    if status == "pending":
        query["approved"] = False
    elif status == "approved":
        query["approved"] = True
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
