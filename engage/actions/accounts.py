"""Accounts: email verification, password reset and change, deactivation, the admins' user list.

Tokens and codes are random, sent once through the notifications outbox (the secret itself kept
out of it, engage/actions/notification_secrets.py) and stored only as hashes. Forgot-password
answers the same whether or not the email has an account: the lookup and the sending happen
after the answer (the view runs do_send_password_reset as a background task).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import timedelta

from beanie import PydanticObjectId
from pymongo import ReturnDocument

from engage.actions.notification_secrets import do_store_notification_secret
from engage.actions.notifications import request_notification
from engage.actions.rate_limits import hit_rate_limit
from engage.actions.sessions import do_end_session
from engage.actions.sessions import do_end_user_sessions
from engage.config import Settings
from engage.errors import ApiError
from engage.lib.passwords import hash_password
from engage.lib.passwords import password_problem
from engage.lib.passwords import verify_password
from engage.lib.users import DOCTOR_APPROVAL_FILTERS
from engage.lib.users import access_user
from engage.models.account import AccountSecret
from engage.models.account import SecretPurpose
from engage.models.auth import RefreshTokenFamily
from engage.models.base import utcnow
from engage.models.user import Role
from engage.models.user import User

log = logging.getLogger(__name__)

HOUR = 3600.0
DAY = 86400.0


def too_many(what: str, retry_after: float) -> ApiError:
    return ApiError(
        429,
        "too_many_requests",
        f"Too many {what}; try again later.",
        retry_after=max(int(retry_after), 1),
    )


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def code_hash(settings: Settings, purpose: SecretPurpose, subject: str, code: str) -> str:
    """A keyed hash: a leaked table of 6-digit code hashes cannot be reversed by trying a million codes."""
    message = f"{purpose.value}:{subject}:{code}".encode()
    return hmac.new((settings.secret_key or "").encode(), message, hashlib.sha256).hexdigest()


async def do_issue_secret(
    settings: Settings,
    purpose: SecretPurpose,
    user: User,
    ttl_seconds: int,
    *,
    with_token: bool,
    with_code: bool,
    destination: str | None = None,
) -> tuple[AccountSecret, str | None, str | None]:
    """Store a fresh token and/or code (hashed); earlier unused ones of the same purpose stop working."""
    await AccountSecret.get_pymongo_collection().update_many(
        {"user_id": user.id, "purpose": purpose.value, "used_at": None},
        {"$set": {"used_at": utcnow()}},
    )
    token = new_link_token() if with_token else None
    code = new_code() if with_code else None
    secret = AccountSecret(
        purpose=purpose,
        user_id=user.id,
        token_hash=token_hash(token) if token else None,
        code_hash=code_hash(settings, purpose, str(user.id), code) if code else None,
        destination=destination,
        expires_at=utcnow() + timedelta(seconds=ttl_seconds),
    )
    await secret.insert()
    return secret, token, code


async def do_notify_secret(
    kind: str,
    user: User,
    secret: AccountSecret,
    values: dict[str, str],
    ttl_seconds: int,
) -> None:
    """Send a secret-bearing notification now (critical: no quiet hours); the outbox never holds the secret."""
    context = await do_store_notification_secret(values, ttl_seconds)
    context["expires_minutes"] = max(ttl_seconds // 60, 1)
    await request_notification(
        recipient_id=str(user.id),
        kind=kind,
        idempotency_key=f"{kind}:{secret.id}",
        context=context,
        critical=True,
    )


async def use_token(purpose: SecretPurpose, token: str) -> AccountSecret | None:
    """Spend a link token: the secret it belongs to, once, while it is valid; else None."""
    now = utcnow()
    doc = await AccountSecret.get_pymongo_collection().find_one_and_update(
        {
            "token_hash": token_hash(token),
            "purpose": purpose.value,
            "used_at": None,
            "expires_at": {"$gt": now},
        },
        {"$set": {"used_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    return AccountSecret.model_validate(doc) if doc else None


async def use_code(
    settings: Settings,
    purpose: SecretPurpose,
    user_id: PydanticObjectId,
    code: str,
    subject: str | None = None,
) -> bool:
    """Spend the user's latest code of this purpose: True once when it matches. Every wrong try
    counts; past ENGAGE_OTP_MAX_ATTEMPTS the code is dead and the answer is 429."""
    now = utcnow()
    collection = AccountSecret.get_pymongo_collection()
    latest = await collection.find_one(
        {
            "user_id": user_id,
            "purpose": purpose.value,
            "used_at": None,
            "expires_at": {"$gt": now},
            "code_hash": {"$ne": None},
        },
        sort=[("created_at", -1)],
    )
    if latest is None:
        return False
    # Count the try first: parallel guesses each take one of the attempts, none is free.
    counted = await collection.find_one_and_update(
        {
            "_id": latest["_id"],
            "used_at": None,
            "attempts": {"$lt": settings.otp_max_attempts},
        },
        {"$inc": {"attempts": 1}},
        return_document=ReturnDocument.AFTER,
    )
    if counted is None:
        raise ApiError(
            429,
            "too_many_attempts",
            "Too many wrong codes; ask for a new one.",
            retry_after=settings.otp_resend_seconds,
        )
    expected = code_hash(settings, purpose, subject or str(user_id), code)
    if not hmac.compare_digest(expected, counted["code_hash"]):
        return False
    spent = await collection.update_one({"_id": latest["_id"], "used_at": None}, {"$set": {"used_at": now}})
    return spent.modified_count == 1


# --- email verification --------------------------------------------------------------------------


async def do_start_email_verification(settings: Settings, user: User) -> None:
    """Email a verification link and code (registration, resend)."""
    ttl = settings.email_verification_ttl_seconds
    secret, token, code = await do_issue_secret(
        settings,
        SecretPurpose.email_verification,
        user,
        ttl,
        with_token=True,
        with_code=True,
        destination=user.email,
    )
    await do_notify_secret(
        "email_verification",
        user,
        secret,
        {"token": token or "", "code": code or ""},
        ttl,
    )


async def check_resend_email_verification(settings: Settings, user: User) -> None:
    """Send a new verification email, at most once per ENGAGE_OTP_RESEND_SECONDS and a few times a day."""
    if user.email_verified:
        raise ApiError(409, "already_verified", "This email address is already verified.")
    if not await hit_rate_limit("email-verify-resend", str(user.id), 1, settings.otp_resend_seconds):
        raise too_many("verification emails", settings.otp_resend_seconds)
    if not await hit_rate_limit("email-verify-day", str(user.id), settings.otp_daily_limit_per_destination, DAY):
        raise too_many("verification emails today", DAY)
    await do_start_email_verification(settings, user)


async def _mark_email_verified(user_id: PydanticObjectId) -> User:
    await User.get_pymongo_collection().update_one({"_id": user_id}, {"$set": {"email_verified": True}})
    user = await User.get(user_id)
    assert user is not None
    log.info("email verified for user %s", user_id)
    return user


def invalid_code(status: int = 400) -> ApiError:
    """A wrong code: 401 when it was to sign in, 400 for a signed-in user (whose token is fine)."""
    return ApiError(status, "invalid_code", "The code is wrong or has expired.", field="code")


async def do_verify_email_token(token: str) -> User:
    """The link's token verifies its account's email (once)."""
    secret = await use_token(SecretPurpose.email_verification, token)
    if secret is None:
        raise ApiError(400, "invalid_link", "The link is invalid, used or expired.", field="token")
    return await _mark_email_verified(secret.user_id)


async def do_verify_email_code(settings: Settings, user: User, code: str) -> User:
    """The signed-in user's code verifies their email (once)."""
    if user.email_verified:
        return user
    if not await use_code(settings, SecretPurpose.email_verification, user.id, code):
        raise invalid_code()
    return await _mark_email_verified(user.id)


# --- password reset and change ---------------------------------------------------------------------


async def check_password_forgot(settings: Settings, client_address: str | None) -> None:
    """The per-address limit of forgot-password requests (says nothing about any email)."""
    if not await hit_rate_limit(
        "password-forgot-address",
        client_address or "unknown",
        settings.password_forgot_limit_per_address_hour,
        HOUR,
    ):
        raise too_many("password reset requests from this address", HOUR)


async def do_send_password_reset(settings: Settings, email: str) -> None:
    """Email a reset link when the email belongs to an active account (run after the 202 answer)."""
    email = email.strip().lower()
    # Counted for unknown emails too: the limit must not tell them apart either.
    if not await hit_rate_limit(
        "password-forgot-email",
        email,
        settings.password_forgot_limit_per_email_hour,
        HOUR,
    ):
        log.info("password reset not sent: hourly limit of the address reached")
        return
    user = await User.find_one({"email": email, "active": True})
    if user is None or user.role == Role.assistant:
        return
    ttl = settings.password_reset_ttl_seconds
    secret, token, _ = await do_issue_secret(
        settings,
        SecretPurpose.password_reset,
        user,
        ttl,
        with_token=True,
        with_code=False,
        destination=user.email,
    )
    await do_notify_secret("password_reset", user, secret, {"token": token or ""}, ttl)


async def do_reset_password(settings: Settings, token: str, password: str) -> User:
    """Set a new password with a reset token (once); every session of the account ends."""
    # Check the password first: a weak one must not spend the token.
    secret_doc = await AccountSecret.find_one({"token_hash": token_hash(token), "purpose": SecretPurpose.password_reset.value})
    user = await User.get(secret_doc.user_id) if secret_doc else None
    problem = password_problem(password, user.email if user else None)
    if problem:
        raise ApiError(422, "weak_password", problem, field="password")
    secret = await use_token(SecretPurpose.password_reset, token)
    if secret is None or user is None or not user.active:
        raise ApiError(
            400,
            "invalid_link",
            "The reset link is invalid, used or expired.",
            field="token",
        )
    # The link proves the mailbox too.
    await User.get_pymongo_collection().update_one(
        {"_id": user.id},
        {
            "$set": {
                "password_hash": await hash_password(password),
                "email_verified": True,
            }
        },
    )
    ended = await do_end_user_sessions(str(user.id), "password_reset")
    log.info("password reset for user %s; %d sessions ended", user.id, ended)
    return await access_user(str(user.id))


async def do_change_password(user: User, current_session: str | None, current_password: str, password: str) -> User:
    """Change the password knowing the current one; every other session of the user ends."""
    if not await verify_password(user.password_hash, current_password):
        raise ApiError(
            401,
            "invalid_credentials",
            "The current password is incorrect.",
            field="current_password",
        )
    problem = password_problem(password, user.email)
    if problem:
        raise ApiError(422, "weak_password", problem, field="password")
    await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"password_hash": await hash_password(password)}})
    families = await RefreshTokenFamily.get_pymongo_collection().find({"user_id": user.id, "revoked": False}, {"family_id": 1}).to_list()
    for family in families:
        if family["family_id"] != current_session:
            await do_end_session(family["family_id"], "password_changed")
    return await access_user(str(user.id))


# --- registration limit ---------------------------------------------------------------------------


async def check_registration_rate(settings: Settings, client_address: str | None) -> None:
    """Sign-ups per client address and hour (409 email_taken would otherwise enumerate freely)."""
    if not await hit_rate_limit(
        "register-address",
        client_address or "unknown",
        settings.register_limit_per_address_hour,
        HOUR,
    ):
        raise too_many("sign-ups from this address", HOUR)


# --- deactivation and the user list ------------------------------------------------------------------


async def do_deactivate_user(user_id: str, reason: str | None) -> User:
    """An admin deactivates an account: it can no longer sign in; its sessions and sockets end now."""
    user = await access_user(user_id)
    if user.role in (Role.admin, Role.assistant):
        raise ApiError(
            409,
            "cannot_deactivate",
            "Platform admins and the assistant cannot be deactivated here.",
        )
    await User.get_pymongo_collection().update_one(
        {"_id": user.id},
        {
            "$set": {
                "active": False,
                "deactivated_at": utcnow(),
                "deactivated_reason": reason,
            }
        },
    )
    ended = await do_end_user_sessions(str(user.id), "deactivated")
    log.info("user %s deactivated; %d sessions ended", user.id, ended)
    return await access_user(user_id)


async def do_reactivate_user(user_id: str) -> User:
    """An admin lets a deactivated account sign in again (a pending deletion is called off)."""
    user = await access_user(user_id)
    await User.get_pymongo_collection().update_one(
        {"_id": user.id},
        {"$set": {"active": True, "deactivated_at": None, "deletion_due_at": None}},
    )
    return await access_user(user_id)


async def list_users(q: str | None, role: str | None, status: str | None, cursor: str | None, limit: int) -> tuple[list[User], str | None]:
    """A page of users by id; the cursor is the last id of the previous page."""
    query: dict = {"role": {"$ne": Role.assistant.value}}
    if role:
        query["role"] = role
    if status == "active":
        query["active"] = {"$ne": False}
    elif status == "deactivated":
        query["active"] = False
    elif status in ("pending", "rejected"):  # doctors, as the admin's doctors list has them
        query.update(DOCTOR_APPROVAL_FILTERS[status])
    elif status == "unverified":
        query["email_verified"] = {"$ne": True}
    if q:
        pattern = re.escape(q.strip().lower())
        query["$or"] = [
            {"email": {"$regex": pattern}},
            {"name": {"$regex": pattern, "$options": "i"}},
        ]
    if cursor:
        query["_id"] = {"$gt": PydanticObjectId(cursor)}
    users = await User.find(query).sort("_id").limit(limit + 1).to_list()
    next_cursor = str(users[limit - 1].id) if len(users) > limit else None
    return users[:limit], next_cursor
