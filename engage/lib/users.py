"""Reading users and shaping them for output."""

from __future__ import annotations

from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId

from engage.errors import ApiError
from engage.lib.coalesced_reads import CoalescedReads
from engage.models.user import Role
from engage.models.user import User
from schemas.users import PublicUserOut
from schemas.users import UserOut


def user_out(user: User) -> dict[str, Any]:
    return UserOut.model_validate(user).model_dump(mode="json")


def public_user_out(user: User) -> dict[str, Any]:
    return PublicUserOut.model_validate(user).model_dump(mode="json")


async def access_user(user_id: str, role: Role | None = None, what: str = "User") -> User:
    """The user with this id (and role, if given), or a 404."""
    if not ObjectId.is_valid(str(user_id)):
        raise ApiError(404, "not_found", f"{what} was not found.")
    user = await _user_reads.load(ObjectId(str(user_id)))
    if user is None or (role is not None and user.role != role):
        raise ApiError(404, "not_found", f"{what} was not found.")
    return user


async def _read_users(ids: list[ObjectId]) -> list[User | None]:
    rows = {row["_id"]: row async for row in User.get_pymongo_collection().find({"_id": {"$in": list(set(ids))}})}
    # A document of its own for each caller, even where two asked for the same user.
    return [User.model_validate(rows[i]) if i in rows else None for i in ids]


_user_reads: CoalescedReads[ObjectId, User | None] = CoalescedReads(_read_users)  # every request and socket connect reads its user


# A doctor's account by approval, as a users filter: pending is neither approved nor rejected.
DOCTOR_APPROVAL_FILTERS: dict[str, dict[str, Any]] = {
    "pending": {"role": Role.doctor.value, "approved": False, "rejected_at": None},
    "approved": {"role": Role.doctor.value, "approved": True},
    "rejected": {"role": Role.doctor.value, "approved": False, "rejected_at": {"$ne": None}},
}


def unapproved_doctor_error(user: User) -> ApiError:
    """Why a doctor without approval may not sign in or act: still waiting, or rejected (with the reason)."""
    if user.rejected_at is not None:
        return ApiError(403, "doctor_rejected", f"Your doctor account was not approved. Reason: {user.rejection_reason}")
    return ApiError(403, "doctor_not_approved", "Your doctor account is waiting for an administrator's approval.")


def check_may_act(user: User) -> None:
    """Refuse a signed-in user who may not use Engage (yet): a doctor nobody approved, or one rejected."""
    if user.role == Role.doctor and not user.approved:
        raise unapproved_doctor_error(user)
    if user.role == Role.assistant:
        raise ApiError(403, "forbidden", "The assistant's account does not sign in.")
    if not user.active:
        raise ApiError(403, "account_deactivated", "This account is deactivated.")


async def listed_doctor_ids(doctor_ids: list[PydanticObjectId]) -> set[PydanticObjectId]:
    """Those of the doctors whom patients may see, book and message: approved, active ones."""
    rows = User.get_pymongo_collection().find({"_id": {"$in": doctor_ids}, "role": Role.doctor.value, "approved": True, "active": {"$ne": False}}, projection={"_id": 1})
    return {PydanticObjectId(row["_id"]) async for row in rows}
