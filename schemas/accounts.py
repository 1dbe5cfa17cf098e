"""Requests and responses of the account layer (issue 19): verification, reset, codes, two-factor, user management."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import EmailStr
from pydantic import Field
from pydantic import StringConstraints
from pydantic import model_validator

from schemas.booking import ClinicCreateRequest
from schemas.common import Name
from schemas.common import ObjectIdStr
from schemas.common import PhoneE164
from schemas.common import RequestModel
from schemas.common import TimezoneName
from schemas.users import TokenPair
from schemas.users import UserOut

SixDigits = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]
LinkToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=16, max_length=256)]
Password = Annotated[str, Field(min_length=1, max_length=1024)]


class EmailVerifyRequest(RequestModel):
    """POST /api/auth/email/verify: the link's token, or the code (then signed in)."""

    token: LinkToken | None = None
    code: SixDigits | None = None

    @model_validator(mode="after")
    def _one_of(self) -> EmailVerifyRequest:
        if (self.token is None) == (self.code is None):
            raise ValueError("send either token or code")
        return self


class PasswordForgotRequest(RequestModel):
    email: EmailStr


class PasswordResetRequest(RequestModel):
    token: LinkToken
    password: Password


class PasswordChangeRequest(RequestModel):
    current_password: Password
    password: Password


class AcceptedOut(BaseModel):
    """202: the request was taken; whether anything was sent is not said (no enumeration)."""

    accepted: Literal[True] = True


class UserEnvelopeOut(BaseModel):
    user: UserOut


class AdminUserListQuery(RequestModel):
    q: Annotated[str, StringConstraints(max_length=120)] | None = None
    role: Literal["patient", "doctor", "admin", "clinic_admin", "receptionist", "pharmacist"] | None = None
    status: Literal["active", "deactivated", "pending", "rejected", "unverified"] | None = None
    cursor: ObjectIdStr | None = None
    limit: int = Field(default=50, ge=1, le=200)


class AdminUserListOut(BaseModel):
    users: list[UserOut]
    next_cursor: str | None  # pass as cursor for the next page; null on the last page


class DeactivateRequest(RequestModel):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class OtpStartRequest(RequestModel):
    """POST /api/auth/otp/start: where to send a sign-in code (one of the two)."""

    email: EmailStr | None = None
    phone: PhoneE164 | None = None

    @model_validator(mode="after")
    def _one_of(self) -> OtpStartRequest:
        if (self.email is None) == (self.phone is None):
            raise ValueError("send either email or phone")
        return self


class OtpVerifyRequest(OtpStartRequest):
    code: SixDigits


class PhoneStartRequest(RequestModel):
    phone: PhoneE164


class CodeRequest(RequestModel):
    code: SixDigits


class TotpEnrolmentOut(BaseModel):
    """The authenticator's secret: shown this once (as text, as an otpauth URI and as a QR code)."""

    otpauth_uri: str
    secret: str
    qr_svg: str


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]  # ten, each usable once; shown this once
    user: UserOut


class MfaTokenRequest(RequestModel):
    mfa_token: LinkToken


class MfaRequest(RequestModel):
    """POST /api/auth/mfa: a TOTP code (6 digits) or a recovery code."""

    mfa_token: LinkToken
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=20, pattern=r"^[0-9a-fA-F -]+$")]


class MfaCodeRequest(RequestModel):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=20, pattern=r"^[0-9a-fA-F -]+$")]


class MfaChallengeOut(BaseModel):
    """A first factor passed, a second is needed: no tokens yet."""

    mfa_required: Literal[True] = True
    mfa_token: str
    mfa_enrolment_required: bool  # true: enrol first (POST /api/auth/mfa/totp), then confirm with POST /api/auth/mfa
    expires_in: int


class MfaSessionOut(TokenPair):
    recovery_codes: list[str] | None = None  # when this sign-in confirmed a first enrolment


class ApplicantIn(RequestModel):
    name: Name
    email: EmailStr
    password: Password


class ClinicApplicationRequest(RequestModel):
    """POST /api/clinic-applications: a clinic asking to use Engage, and the person who will run it."""

    clinic: ClinicCreateRequest
    applicant: ApplicantIn


class ClinicApplicationOut(BaseModel):
    id: str
    clinic: ClinicCreateRequest
    applicant_id: str
    applicant_name: str
    applicant_email: str
    status: Literal["pending", "approved", "rejected"]
    reason: str | None
    clinic_id: str | None
    created_at: datetime
    decided_at: datetime | None


class ClinicApplicationEnvelope(BaseModel):
    application: ClinicApplicationOut


class ClinicApplicationListOut(BaseModel):
    applications: list[ClinicApplicationOut]


class ClinicApplicationQuery(RequestModel):
    status: Literal["pending", "approved", "rejected"] | None = None


class RejectRequest(RequestModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class StaffInviteRequest(RequestModel):
    email: EmailStr
    name: Name | None = None
    role: Literal["clinic_admin", "receptionist", "pharmacist"]


class StaffListOut(BaseModel):
    staff: list[UserOut]


class BrandingOut(BaseModel):
    clinic_id: str
    brand_color: str | None  # "#rrggbb"
    logo_url: str | None


class BrandingEnvelope(BaseModel):
    branding: BrandingOut


class BrandingRequest(RequestModel):
    brand_color: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^#[0-9a-fA-F]{6}$")] | None


class LogoUpload(BaseModel):
    """POST /api/clinics/{id}/logo: one part named file."""

    file: bytes = Field(json_schema_extra={"format": "binary"}, description="a PNG or SVG of at most 512 KB")


class ProfilePatchRequest(RequestModel):
    """PATCH /api/me: what is left out stays."""

    name: Name | None = None
    timezone: TimezoneName | None = None
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")] | None = None


class DeleteAccountRequest(RequestModel):
    password: Password


class ExportOut(BaseModel):
    """All of the user's own data: the account (no password hash) and their documents by collection."""

    exported_at: str
    user: dict[str, Any]
    collections: dict[str, list[dict[str, Any]]]
