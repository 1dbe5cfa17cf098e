"""Logging in, rotating refresh tokens with reuse detection, logging out."""

from __future__ import annotations

import logging
from datetime import timedelta

from beanie import PydanticObjectId

from engage import extensions
from engage.config import Settings
from engage.errors import ApiError
from engage.lib.passwords import verify_password
from engage.lib.tokens import InvalidToken
from engage.lib.tokens import decode_refresh_token
from engage.lib.tokens import issue_access_token
from engage.lib.tokens import issue_refresh_token
from engage.lib.tokens import new_id
from engage.lib.users import user_out
from engage.models.auth import RefreshTokenFamily
from engage.models.base import utcnow
from engage.models.user import Role
from engage.models.user import User

log = logging.getLogger(__name__)

INVALID_CREDENTIALS = ApiError(401, "invalid_credentials", "The email or password is incorrect.")


def _token_pair(settings: Settings, user: User, family: RefreshTokenFamily) -> dict:
    assert settings.secret_key
    return {
        "access_token": issue_access_token(settings.secret_key, str(user.id), user.role.value, settings.access_token_ttl_seconds),
        "refresh_token": issue_refresh_token(settings.secret_key, str(user.id), family.family_id, family.current_jti, family.expires_at),
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl_seconds,
        "user": user_out(user),
    }


async def do_login(settings: Settings, email: str, password: str) -> dict:
    """Check credentials and start a new refresh-token family."""
    email = email.strip().lower()
    redis = extensions.redis_client()
    failures_key = f"engage:login-failures:{email}"
    # Guessing is throttled per account, whether or not the account exists.
    if int(await redis.get(failures_key) or 0) >= settings.login_max_failures:
        raise ApiError(
            429, "too_many_attempts", "Too many failed logins for this account; try again later.",
            retry_after=max(await redis.ttl(failures_key), 1),
        )
    user = await User.find_one({"email": email})
    # verify_password always costs one hash, so an unknown email takes as long as a wrong password.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        async with redis.pipeline(transaction=True) as pipe:
            await pipe.incr(failures_key).expire(failures_key, settings.login_lockout_seconds).execute()
        raise INVALID_CREDENTIALS
    await redis.delete(failures_key)
    if user.role == Role.doctor and not user.approved:
        raise ApiError(403, "doctor_not_approved", "Your doctor account is waiting for an administrator's approval.")
    family = RefreshTokenFamily(
        family_id=new_id(),
        user_id=user.id,
        current_jti=new_id(),
        expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
    )
    await family.insert()
    return _token_pair(settings, user, family)


async def do_refresh(settings: Settings, refresh_token: str) -> dict:
    """Trade a refresh token for a new pair; a token used twice revokes its whole family."""
    assert settings.secret_key
    try:
        claims = decode_refresh_token(settings.secret_key, refresh_token)
    except InvalidToken:
        raise ApiError(401, "invalid_refresh_token", "The refresh token is invalid or expired.") from None
    next_jti = new_id()
    # Atomic rotation: only the holder of the current jti wins, even under concurrent refreshes.
    rotated = await RefreshTokenFamily.get_pymongo_collection().find_one_and_update(
        {"family_id": claims.family_id, "current_jti": claims.jti, "revoked": False},
        {"$set": {"current_jti": next_jti}, "$push": {"used_jtis": claims.jti}},
    )
    if rotated is None:
        family = await RefreshTokenFamily.find_one({"family_id": claims.family_id})
        if family is not None and not family.revoked and claims.jti in family.used_jtis:
            await _revoke_family(claims.family_id, "reuse_detected")
            log.warning("refresh token reuse detected; family %s revoked", claims.family_id)
            raise ApiError(401, "refresh_token_reused", "This refresh token was already used; the session has been ended for safety.")
        raise ApiError(401, "invalid_refresh_token", "The refresh token is invalid or expired.")
    user = await User.get(PydanticObjectId(claims.user_id))
    if user is None:
        raise ApiError(401, "invalid_refresh_token", "The refresh token is invalid or expired.")
    family = RefreshTokenFamily.model_validate({**rotated, "current_jti": next_jti})
    return _token_pair(settings, user, family)


async def do_logout(settings: Settings, refresh_token: str) -> None:
    """End the session the refresh token belongs to."""
    assert settings.secret_key
    try:
        claims = decode_refresh_token(settings.secret_key, refresh_token)
    except InvalidToken:
        raise ApiError(401, "invalid_refresh_token", "The refresh token is invalid or expired.") from None
    await _revoke_family(claims.family_id, "logout")


async def _revoke_family(family_id: str, reason: str) -> None:
    await RefreshTokenFamily.get_pymongo_collection().update_one(
        {"family_id": family_id}, {"$set": {"revoked": True, "revoked_reason": reason}}
    )
