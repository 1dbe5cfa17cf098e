"""One-time codes: signing in with a code (email or verified phone) and verifying a phone number.

Every code is 6 digits, stored as a keyed hash, valid ENGAGE_OTP_TTL_SECONDS and for
ENGAGE_OTP_MAX_ATTEMPTS tries. Asking for codes is limited per client address (a day), per
destination (a day) and by a resend cooldown per destination: the limits are counted before any
account is looked up, so known and unknown destinations answer alike, and the lookup and the
sending happen after the answer (the view runs do_send_sign_in_code as a background task).
SMS costs money per message (SMS pumping): these limits are what bounds the bill.
"""

from __future__ import annotations

import logging

from engage.actions.accounts import DAY
from engage.actions.accounts import do_issue_secret
from engage.actions.accounts import do_notify_secret
from engage.actions.accounts import invalid_code
from engage.actions.accounts import too_many
from engage.actions.accounts import use_code
from engage.actions.auth import do_open_session
from engage.actions.rate_limits import hit_rate_limit
from engage.config import Settings
from engage.errors import ApiError
from engage.models.account import SecretPurpose
from engage.models.user import Role
from engage.models.user import User

log = logging.getLogger(__name__)


def destination_of(email: str | None, phone: str | None) -> tuple[str, str]:
    """("email" | "sms", the normalised address)."""
    if email is not None:
        return "email", email.strip().lower()
    assert phone is not None
    return "sms", phone


async def check_code_request(settings: Settings, destination: str, client_address: str | None, purpose: str) -> None:
    """The limits on sending a code, counted whether or not the destination has an account."""
    # The cooldown first: a client retrying too soon spends none of the daily allowances.
    if not await hit_rate_limit(f"otp-resend:{purpose}", destination, 1, settings.otp_resend_seconds):
        raise too_many("codes; wait before asking again", settings.otp_resend_seconds)
    if not await hit_rate_limit(f"otp-address-day:{purpose}", client_address or "unknown", settings.otp_daily_limit_per_address, DAY):
        raise too_many("codes from this address today", DAY)
    if not await hit_rate_limit(f"otp-destination-day:{purpose}", destination, settings.otp_daily_limit_per_destination, DAY):
        raise ApiError(429, "daily_limit_reached", "No more codes can be sent there today.", retry_after=int(DAY))


async def sign_in_account(channel: str, destination: str) -> User | None:
    """The active account a sign-in code may go to: by email, or by a verified phone number."""
    if channel == "email":
        user = await User.find_one({"email": destination, "active": True})
    else:
        user = await User.find_one({"phone": destination, "phone_verified": True, "active": True})
    if user is None or user.role == Role.assistant:
        return None
    return user


async def do_send_sign_in_code(settings: Settings, channel: str, destination: str) -> None:
    """Send a sign-in code when the destination belongs to an account (run after the 202 answer)."""
    user = await sign_in_account(channel, destination)
    if user is None:
        return
    ttl = settings.otp_ttl_seconds
    secret, _, code = await do_issue_secret(settings, SecretPurpose.sign_in_code, user, ttl, with_token=False, with_code=True, destination=destination)
    await do_notify_secret(f"sign_in_code_{channel}", user, secret, {"code": code or ""}, ttl)


async def do_sign_in_with_code(settings: Settings, channel: str, destination: str, code: str) -> dict:
    """A session for the code's account (as a password login gives), or 401 invalid_code."""
    user = await sign_in_account(channel, destination)
    if user is None or not await use_code(settings, SecretPurpose.sign_in_code, user.id, code):
        raise invalid_code(401)
    if channel == "email" and not user.email_verified:  # the code proved the mailbox
        await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"email_verified": True}})
        user.email_verified = True
    return await do_open_session(settings, user)


async def do_start_phone_verification(settings: Settings, user: User, phone: str, client_address: str | None) -> None:
    """Make this the user's (unverified) number and text it a code; nothing else is texted to it until verified."""
    await check_code_request(settings, phone, client_address, "phone")
    if user.phone != phone or not user.phone_verified:
        await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"phone": phone, "phone_verified": False}})
        user.phone, user.phone_verified = phone, False
    ttl = settings.otp_ttl_seconds
    secret, _, code = await do_issue_secret(settings, SecretPurpose.phone_verification, user, ttl, with_token=False, with_code=True, destination=phone)
    await do_notify_secret("phone_verification", user, secret, {"code": code or ""}, ttl)


async def do_verify_phone(settings: Settings, user: User, code: str) -> User:
    """The code proves the number: it becomes this account's verified number, and no other account's."""
    if not user.phone or not await use_code(settings, SecretPurpose.phone_verification, user.id, code):
        raise invalid_code()
    # Whoever proves they hold the number now owns it; an older account keeps it unverified.
    await User.get_pymongo_collection().update_many({"phone": user.phone, "phone_verified": True, "_id": {"$ne": user.id}}, {"$set": {"phone_verified": False}})
    await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"phone_verified": True}})
    user.phone_verified = True
    log.info("phone verified for user %s", user.id)
    return user
