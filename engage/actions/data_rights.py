"""A user's data rights: editing the profile, exporting their own data, deleting the account.

Deleting deactivates at once (sessions and sockets end) and sets deletion_due_at; the erasure scan
(engage/actions/account_jobs.py, a worker job) then replaces the account's personal data after
ENGAGE_DELETION_GRACE_DAYS. Audit entries keep the user id, which is opaque once the account's
name, email and phone are gone. An admin's reactivation within the grace period calls it off.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId

from engage.actions.sessions import do_end_user_sessions
from engage.config import Settings
from engage.errors import ApiError
from engage.lib.passwords import verify_password
from engage.lib.users import access_user
from engage.models import DOCUMENT_MODELS
from engage.models.account import AccountSecret
from engage.models.account import TotpEnrolment
from engage.models.auth import RefreshTokenFamily
from engage.models.base import utcnow
from engage.models.clinic import DoctorProfile
from engage.models.clinic_membership import ClinicMembership
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.models.user import Role
from engage.models.user import User

log = logging.getLogger(__name__)

# Never exported: secrets, even hashed, and session bookkeeping.
NOT_EXPORTED = {AccountSecret, TotpEnrolment, RefreshTokenFamily}
# Fields that name the owner of a document. A patient also owns what is about them (patient_id,
# subject_id: who looked at their record); a doctor's patients' data is the patients', not theirs.
OWNER_FIELDS = ("user_id", "recipient_id", "applicant_id")
PATIENT_FIELDS = ("patient_id", "subject_id")
SECRET_FIELDS = {"password_hash", "claim_token", "sealed_secret", "recovery_code_hashes", "code_hash", "token_hash"}
EXPORT_LIMIT = 10_000  # documents per collection


async def do_update_profile(user: User, fields: dict[str, Any]) -> User:
    """Change the user's own name, time zone or language."""
    if fields:
        await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": fields})
        if "name" in fields and user.role == Role.doctor:  # the bookable profile carries the name
            await DoctorProfile.get_pymongo_collection().update_one({"doctor_id": user.id}, {"$set": {"doctor_name": fields["name"]}})
    return await access_user(str(user.id))


def _json_safe(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


async def export_user_data(user: User) -> dict[str, Any]:
    """Everything stored about the user, as JSON: their account and every document they own, by collection."""
    fields = OWNER_FIELDS + (PATIENT_FIELDS if user.role == Role.patient else ())
    collections: dict[str, list[Any]] = {}
    for model in DOCUMENT_MODELS:
        if model in NOT_EXPORTED or model is User:
            continue
        query: dict[str, Any] = {"$or": [{field: user.id} for field in fields]}
        if model in (DoctorProfile, ClinicMembership):
            query = {"doctor_id": user.id}
        rows = await model.get_pymongo_collection().find(query).limit(EXPORT_LIMIT).to_list(None)
        if rows:
            collections[model.Settings.name] = [_json_safe(row) for row in rows]
    account = await User.get_pymongo_collection().find_one({"_id": user.id})
    return {"exported_at": utcnow().isoformat(), "user": _json_safe(account or {}), "collections": collections}


async def do_request_deletion(settings: Settings, user: User, password: str) -> User:
    """The user deletes their account (proven by the password): deactivated now, erased after the grace period."""
    if not await verify_password(user.password_hash, password):
        # 400, not 401: the access token is fine, and a client must not take this for a signed-out session.
        raise ApiError(400, "invalid_password", "The password is incorrect.", field="password")
    if user.role == Role.admin:
        raise ApiError(409, "cannot_delete", "A platform admin's account is not deleted here.")
    due = utcnow() + timedelta(days=settings.deletion_grace_days)
    await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"active": False, "deactivated_at": utcnow(), "deletion_due_at": due}})
    await do_end_user_sessions(str(user.id), "account_deleted")
    log.info("user %s asked for deletion; erasure due %s", user.id, due.isoformat())
    return await access_user(str(user.id))


async def do_erase_due_accounts() -> int:
    """Erase the personal data of every account whose deletion is due; returns how many. Safe to run twice."""
    now = utcnow()
    due = await User.get_pymongo_collection().find({"deletion_due_at": {"$lte": now}, "active": False}, {"_id": 1}).to_list(None)
    for row in due:
        user_id = PydanticObjectId(row["_id"])
        await User.get_pymongo_collection().update_one(
            {"_id": user_id},
            {
                "$set": {
                    "email": f"erased-{user_id}@erased.invalid",
                    "name": "Erased user",
                    "phone": None,
                    "phone_verified": False,
                    "email_verified": False,
                    "mfa_enabled": False,
                    "password_hash": "!erased",  # not an argon2 hash: nothing ever verifies against it
                    "deletion_due_at": None,
                    "erased_at": now,
                }
            },
        )
        for model in (AccountSecret, TotpEnrolment, NotificationPreferences):
            await model.get_pymongo_collection().delete_many({"user_id": user_id})
        # The outbox's copies name the address and hold the text that was sent.
        await Notification.get_pymongo_collection().delete_many({"recipient_id": user_id})
        await DoctorProfile.get_pymongo_collection().update_many({"doctor_id": user_id}, {"$set": {"doctor_name": "Erased user", "bio": None}})
        await ClinicMembership.get_pymongo_collection().update_many(
            {"doctor_id": user_id}, {"$set": {"doctor_name": "Erased user", "doctor_email": f"erased-{user_id}@erased.invalid", "profile.bio": None}}
        )
        log.info("user %s erased", user_id)
    return len(due)
