"""Two-factor sign-in with a TOTP authenticator (pyotp) and single-use recovery codes.

With an authenticator confirmed, a first factor (password or one-time code) no longer gives
tokens: it gives an mfa_token (random, 5 min, in Redis by its hash, a few tries), which
POST /api/auth/mfa trades with a TOTP or recovery code for the session. A role listed in
ENGAGE_REQUIRE_MFA_ROLES without an authenticator gets an mfa_token too, with which it enrols
(POST /api/auth/mfa/totp) and confirms its first code (POST /api/auth/mfa) before any session.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import secrets
import time

import pyotp
import qrcode
import qrcode.image.svg
from beanie import PydanticObjectId
from cryptography.fernet import InvalidToken
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from engage import extensions
from engage.actions.accounts import invalid_code
from engage.config import Settings
from engage.errors import ApiError
from engage.lib.sealing import sealer
from engage.lib.users import access_user
from engage.models.account import TotpEnrolment
from engage.models.base import utcnow
from engage.models.user import User

log = logging.getLogger(__name__)

ISSUER = "Engage"
RECOVERY_CODES = 10
MFA_TOKEN_KEY = "engage:mfa-token:{}"  # by the token's sha256: user id; the hash's tries beside it
MFA_TOKEN_TRIES = 5
MFA_TOKEN_TRIES_TTL = 3600  # outlives any mfa_token
_seal = "totp-secrets"


def _recovery_hash(settings: Settings, user_id: PydanticObjectId, code: str) -> str:
    normalised = code.replace("-", "").replace(" ", "").lower()
    return hmac.new((settings.secret_key or "").encode(), f"recovery:{user_id}:{normalised}".encode(), hashlib.sha256).hexdigest()


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits each; ten of them, each usable once
    return f"{raw[:5]}-{raw[5:]}"


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


def mfa_required_for(settings: Settings, user: User) -> bool:
    return user.mfa_enabled or user.role.value in settings.mfa_required_roles


# --- enrolment --------------------------------------------------------------------------------------


async def do_begin_totp_enrolment(user: User) -> dict:
    """A new (unconfirmed) authenticator secret: the only time it is shown."""
    if user.mfa_enabled:
        raise ApiError(409, "mfa_already_enabled", "Two-factor sign-in is already on; turn it off first.")
    secret = pyotp.random_base32()
    sealed = sealer(_seal).encrypt(secret.encode()).decode()
    collection = TotpEnrolment.get_pymongo_collection()
    try:
        await collection.update_one(
            {"user_id": user.id, "confirmed": False},
            {"$set": {"sealed_secret": sealed, "recovery_code_hashes": [], "last_step": 0, "created_at": utcnow()}},
            upsert=True,
        )
    except DuplicateKeyError:  # a confirmed one exists (a race with confirm)
        raise ApiError(409, "mfa_already_enabled", "Two-factor sign-in is already on; turn it off first.") from None
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return {"otpauth_uri": uri, "secret": secret, "qr_svg": _qr_svg(uri)}


def _totp_of(enrolment: TotpEnrolment) -> pyotp.TOTP:
    try:
        return pyotp.TOTP(sealer(_seal).decrypt(enrolment.sealed_secret.encode()).decode())
    except InvalidToken:
        raise ApiError(500, "internal_error", "The authenticator cannot be read.") from None


async def _accept_totp(enrolment: TotpEnrolment, code: str) -> bool:
    """A TOTP code of this step or the one either side, never one accepted before (replay)."""
    totp = _totp_of(enrolment)
    now = time.time()
    for drift in (0, -1, 1):
        at = now + drift * totp.interval
        if hmac.compare_digest(totp.at(at), code):
            step = int(at // totp.interval)
            won = await TotpEnrolment.get_pymongo_collection().update_one(
                {"_id": enrolment.id, "last_step": {"$lt": step}}, {"$set": {"last_step": step}}
            )
            return won.modified_count == 1
    return False


async def _accept_second_factor(settings: Settings, enrolment: TotpEnrolment, code: str) -> bool:
    """A TOTP code, or a recovery code (spent)."""
    code = code.strip()
    if code.isdigit() and len(code) == 6:
        return await _accept_totp(enrolment, code)
    hashed = _recovery_hash(settings, enrolment.user_id, code)
    spent = await TotpEnrolment.get_pymongo_collection().update_one(
        {"_id": enrolment.id, "recovery_code_hashes": hashed}, {"$pull": {"recovery_code_hashes": hashed}}
    )
    if spent.modified_count == 1:
        log.info("recovery code used by user %s", enrolment.user_id)
    return spent.modified_count == 1


async def do_confirm_totp(settings: Settings, user: User, code: str, wrong_status: int = 400) -> list[str]:
    """The first code proves the authenticator: two-factor is on; the recovery codes, shown once."""
    enrolment = await TotpEnrolment.find_one({"user_id": user.id, "confirmed": False})
    if enrolment is None:
        raise ApiError(409, "no_enrolment", "Start enrolment first (POST /api/me/mfa/totp).")
    if not (code.isdigit() and await _accept_totp(enrolment, code)):
        raise invalid_code(wrong_status)
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    confirmed = await TotpEnrolment.get_pymongo_collection().find_one_and_update(
        {"_id": enrolment.id, "confirmed": False},
        {"$set": {"confirmed": True, "confirmed_at": utcnow(), "recovery_code_hashes": [_recovery_hash(settings, user.id, c) for c in codes]}},
        return_document=ReturnDocument.AFTER,
    )
    if confirmed is None:
        raise ApiError(409, "mfa_already_enabled", "Two-factor sign-in is already on.")
    await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"mfa_enabled": True}})
    log.info("two-factor sign-in enabled for user %s", user.id)
    return codes


async def do_disable_totp(settings: Settings, user: User, code: str) -> User:
    """Turn two-factor off, proven by a current TOTP or a recovery code."""
    enrolment = await TotpEnrolment.find_one({"user_id": user.id, "confirmed": True})
    if enrolment is None:
        raise ApiError(409, "mfa_not_enabled", "Two-factor sign-in is not on.")
    if settings.mfa_required_roles and user.role.value in settings.mfa_required_roles:
        raise ApiError(409, "mfa_required", "Your role must keep two-factor sign-in on.")
    if not await _accept_second_factor(settings, enrolment, code):
        raise invalid_code()
    await TotpEnrolment.get_pymongo_collection().delete_one({"_id": enrolment.id})
    await User.get_pymongo_collection().update_one({"_id": user.id}, {"$set": {"mfa_enabled": False}})
    log.info("two-factor sign-in disabled for user %s", user.id)
    return await access_user(str(user.id))


# --- the sign-in step -------------------------------------------------------------------------------


def _token_key(token: str) -> str:
    return MFA_TOKEN_KEY.format(hashlib.sha256(token.encode()).hexdigest())


async def do_start_mfa_challenge(settings: Settings, user: User) -> dict:
    """After the first factor: an mfa_token instead of a session."""
    token = secrets.token_urlsafe(32)
    await extensions.redis_client().set(_token_key(token), str(user.id), ex=settings.mfa_token_ttl_seconds)
    return {"mfa_required": True, "mfa_token": token, "mfa_enrolment_required": not user.mfa_enabled, "expires_in": settings.mfa_token_ttl_seconds}


def invalid_mfa_token() -> ApiError:
    return ApiError(401, "invalid_mfa_token", "The sign-in step has expired; sign in again.", field="mfa_token")


async def access_mfa_user(token: str) -> User:
    """The user an mfa_token was given to; each use is a try, MFA_TOKEN_TRIES at most."""
    redis = extensions.redis_client()
    key = _token_key(token)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(key)
        pipe.incr(key + ":tries")
        pipe.expire(key + ":tries", MFA_TOKEN_TRIES_TTL)
        user_id, tries, _ = await pipe.execute()
    if user_id is None:
        raise invalid_mfa_token()
    if tries > MFA_TOKEN_TRIES:
        await redis.delete(key)
        raise ApiError(429, "too_many_attempts", "Too many wrong codes; sign in again.", retry_after=1)
    try:
        return await access_user(user_id.decode() if isinstance(user_id, bytes) else user_id)
    except ApiError:
        raise invalid_mfa_token() from None


async def do_begin_enrolment_at_sign_in(token: str) -> dict:
    """A role that must use two-factor, signing in without it: enrol with the mfa_token."""
    user = await access_mfa_user(token)
    return await do_begin_totp_enrolment(user)


async def do_pass_mfa(settings: Settings, token: str, code: str) -> tuple[User, list[str] | None]:
    """The second factor: the user whose session may start, and new recovery codes when this code
    confirmed a first enrolment. The mfa_token is spent on success."""
    user = await access_mfa_user(token)
    recovery_codes = None
    if not user.mfa_enabled:
        recovery_codes = await do_confirm_totp(settings, user, code.strip(), wrong_status=401)
    else:
        enrolment = await TotpEnrolment.find_one({"user_id": user.id, "confirmed": True})
        if enrolment is None or not await _accept_second_factor(settings, enrolment, code):
            raise invalid_code(401)
    if not await extensions.redis_client().delete(_token_key(token)):
        raise invalid_mfa_token()  # used by a parallel request
    return await access_user(str(user.id)), recovery_codes
