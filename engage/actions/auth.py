"""Logging in, rotating refresh tokens with reuse detection, logging out."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from beanie import PydanticObjectId
from pymongo import ReturnDocument

from engage import extensions
from engage.actions.mfa import do_start_mfa_challenge
from engage.actions.mfa import mfa_required_for
from engage.actions.sessions import do_end_session
from engage.config import Settings
from engage.errors import ApiError
from engage.lib.passwords import verify_password
from engage.lib.tokens import InvalidToken
from engage.lib.tokens import decode_refresh_token
from engage.lib.tokens import issue_access_token
from engage.lib.tokens import issue_refresh_token
from engage.lib.tokens import new_id
from engage.lib.users import unapproved_doctor_error
from engage.lib.users import user_out
from engage.models.auth import RefreshTokenFamily
from engage.models.base import utcnow
from engage.models.user import Role
from engage.models.user import User

log = logging.getLogger(__name__)

INVALID_CREDENTIALS = ApiError(401, "invalid_credentials", "The email or password is incorrect.")
ACCOUNT_FAILURES_KEY = "engage:login-failures:{}"
ADDRESS_FAILURES_KEY = "engage:login-failures:address:{}"
# DECR, unless the window ended meanwhile (DECR would then create a counter that never expires).
_UNCOUNT_ATTEMPT = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"


def invalid_refresh_token() -> ApiError:
    return ApiError(401, "invalid_refresh_token", "The refresh token is invalid or expired.")


def _token_pair(settings: Settings, user: User, family: RefreshTokenFamily, issued_at: int) -> dict:
    assert settings.secret_key
    return {
        "access_token": issue_access_token(
            settings.secret_key, str(user.id), user.role.value, family.family_id, issued_at, settings.access_token_ttl_seconds
        ),
        "refresh_token": issue_refresh_token(settings.secret_key, str(user.id), family.family_id, family.current_jti, issued_at, family.expires_at),
        "token_type": "Bearer",
        "expires_in": max(issued_at + settings.access_token_ttl_seconds - int(time.time()), 0),  # less for a re-issued pair
        "user": user_out(user),
    }


async def _count_attempt(key: str, limit: int, lockout_seconds: int, what: str) -> None:
    """Count one login attempt on a counter before any password is checked; 429 past the limit.

    Counting first is what holds under parallel requests: each gets its own number from INCR."""
    redis = extensions.redis_client()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=lockout_seconds, nx=True)  # the window starts at the first attempt
        pipe.incr(key)
        pipe.ttl(key)
        _, attempts, ttl = await pipe.execute()
    if attempts > limit:
        raise ApiError(429, "too_many_attempts", f"Too many failed logins {what}; try again later.", retry_after=max(int(ttl), 1))


async def do_login(settings: Settings, email: str, password: str, client_address: str | None) -> dict:
    """Check credentials and start a new refresh-token family (a session).

    Guessing is throttled per account (whether or not it exists) and per client address; only
    attempts within both limits cost a password check."""
    email = email.strip().lower()
    account_key = ACCOUNT_FAILURES_KEY.format(email)
    address_key = ADDRESS_FAILURES_KEY.format(client_address or "unknown")
    redis = extensions.redis_client()
    # The address first: a client making up emails creates at most its limit of account counters.
    await _count_attempt(address_key, settings.login_max_failures_per_address, settings.login_lockout_seconds, "from this address")
    try:
        await _count_attempt(account_key, settings.login_max_failures, settings.login_lockout_seconds, "for this account")
    except ApiError:
        await redis.eval(_UNCOUNT_ATTEMPT, 1, address_key)  # no password was checked
        raise
    user = await User.find_one({"email": email})
    # verify_password always costs one hash, so an unknown email takes as long as a wrong password.
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        raise INVALID_CREDENTIALS
    await redis.delete(account_key)
    # A success is not a failure: colleagues behind one address log in all day.
    await redis.eval(_UNCOUNT_ATTEMPT, 1, address_key)
    return await do_open_session(settings, user)


async def do_open_session(settings: Settings, user: User) -> dict:
    """After a first factor (password, or a one-time code): a new session's token pair, or the
    second-factor step (engage.actions.mfa) when the account has or needs one."""
    _check_may_sign_in(user)
    if mfa_required_for(settings, user):
        return await do_start_mfa_challenge(settings, user)
    return await do_issue_session(settings, user)


def _check_may_sign_in(user: User) -> None:
    if not user.active:
        raise ApiError(403, "account_deactivated", "This account is deactivated.")
    if user.role == Role.doctor and not user.approved:
        raise unapproved_doctor_error(user)


async def do_issue_session(settings: Settings, user: User) -> dict:
    """The last step of every sign-in: a new session (refresh-token family) and its token pair."""
    _check_may_sign_in(user)
    family = RefreshTokenFamily(
        family_id=new_id(),
        user_id=user.id,
        current_jti=new_id(),
        expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    await family.insert()
    return _token_pair(settings, user, family, int(time.time()))


async def do_refresh(settings: Settings, refresh_token: str) -> dict:
    """Trade a refresh token for a new pair.

    The token rotated last, presented again within the grace window, gets the same new pair
    (two tabs, a retried request); any other token used twice ends its whole session."""
    assert settings.secret_key
    try:
        claims = decode_refresh_token(settings.secret_key, refresh_token)
    except InvalidToken:
        raise invalid_refresh_token() from None
    now = int(time.time())
    # Atomic rotation: only the holder of the current jti wins, even under concurrent refreshes.
    rotated = await RefreshTokenFamily.get_pymongo_collection().find_one_and_update(
        {"family_id": claims.family_id, "current_jti": claims.jti, "revoked": False},
        {"$set": {"current_jti": new_id(), "previous_jti": claims.jti, "rotated_at": now}, "$push": {"used_jtis": claims.jti}},
        return_document=ReturnDocument.AFTER,
    )
    if rotated is not None:
        family = RefreshTokenFamily.model_validate(rotated)
        issued_at = now
    else:
        family = await RefreshTokenFamily.find_one({"family_id": claims.family_id})
        if family is None or family.revoked or claims.jti not in family.used_jtis:
            raise invalid_refresh_token()
        in_grace = family.previous_jti == claims.jti and family.rotated_at is not None and now - family.rotated_at <= settings.refresh_grace_seconds
        if not in_grace:
            await do_end_session(claims.family_id, "reuse_detected")
            log.warning("refresh token reuse detected; session %s ended", claims.family_id)
            raise ApiError(401, "refresh_token_reused", "This refresh token was already used; the session has been ended for safety.")
        issued_at = family.rotated_at  # the same pair the rotation issued: issuing is deterministic
    user = await User.get(PydanticObjectId(claims.user_id))
    if user is None:
        raise invalid_refresh_token()
    return _token_pair(settings, user, family, issued_at)


async def do_logout(settings: Settings, refresh_token: str) -> None:
    """End the session the refresh token belongs to, and disconnect its sockets."""
    assert settings.secret_key
    try:
        claims = decode_refresh_token(settings.secret_key, refresh_token)
    except InvalidToken:
        raise invalid_refresh_token() from None
    await do_end_session(claims.family_id, "logout")
