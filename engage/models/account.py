"""Account secrets: verification and reset tokens, one-time codes, TOTP enrolments, clinic applications."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class SecretPurpose(StrEnum):
    email_verification = "email_verification"  # a link token and a 6-digit code
    password_reset = "password_reset"  # a link token
    sign_in_code = "sign_in_code"  # OTP login: a 6-digit code sent to an email or a verified phone
    phone_verification = "phone_verification"  # a 6-digit code sent to the number being verified


class AccountSecret(Document):
    """One issued token and/or code; only their hashes are stored. Used at most once."""

    purpose: SecretPurpose
    user_id: PydanticObjectId
    token_hash: str | None = None  # sha256 of the link token
    code_hash: str | None = None  # HMAC of the code (keyed by ENGAGE_SECRET_KEY, bound to purpose and user)
    destination: str | None = None  # the email or phone the code went to
    attempts: int = 0
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "account_secrets"
        indexes = [
            IndexModel([("token_hash", ASCENDING)], name="token_hash", sparse=True),
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("purpose", ASCENDING),
                    ("created_at", DESCENDING),
                ],
                name="user_purpose",
            ),
            IndexModel(
                [("expires_at", ASCENDING)],
                expireAfterSeconds=86400,
                name="expires_ttl",
            ),  # kept a day for support
        ]


class TotpEnrolment(Document):
    """A user's TOTP authenticator: the secret sealed (it must be read to check codes), the
    recovery codes hashed. Unconfirmed until a first code proves the authenticator has it."""

    user_id: PydanticObjectId
    sealed_secret: str
    confirmed: bool = False
    recovery_code_hashes: list[str] = Field(default_factory=list)  # a used one is removed
    last_step: int = 0  # the TOTP time step last accepted: a code is never accepted twice
    created_at: datetime = Field(default_factory=utcnow)
    confirmed_at: datetime | None = None

    class Settings:
        name = "totp_enrolments"
        indexes = [IndexModel([("user_id", ASCENDING)], unique=True, name="user_unique")]


class ApplicationStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class ClinicApplication(Document):
    """A clinic asking to join Engage; its applicant's account waits (inactive) for the decision."""

    clinic: dict  # name, timezone, address, phone, email as applied
    applicant_id: PydanticObjectId
    applicant_name: str
    applicant_email: str
    status: ApplicationStatus = ApplicationStatus.pending
    reason: str | None = None  # a rejection's
    clinic_id: PydanticObjectId | None = None  # the clinic an approval created
    decided_by: PydanticObjectId | None = None
    decided_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "clinic_applications"
        indexes = [IndexModel([("status", ASCENDING), ("created_at", DESCENDING)], name="status_created")]
