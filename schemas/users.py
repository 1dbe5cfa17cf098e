"""Requests and responses about accounts and authentication."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from pydantic import EmailStr
from pydantic import Field

from schemas.common import FromDocument
from schemas.common import IdOut
from schemas.common import Name
from schemas.common import PhoneE164
from schemas.common import RequestModel
from schemas.common import TimezoneName


class RegisterRequest(RequestModel):
    email: EmailStr
    password: str = Field(max_length=1024)
    name: Name
    role: Literal["patient", "doctor"]
    phone: PhoneE164 | None = None
    timezone: TimezoneName = "UTC"


class LoginRequest(RequestModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(RequestModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


class AdminDoctorListQuery(RequestModel):
    """GET /api/admin/doctors: doctors by approval."""

    status: Literal["pending", "approved", "rejected", "all"] = "all"  # pending: neither approved nor rejected


class UserOut(FromDocument):
    id: IdOut
    email: str
    name: str
    role: Literal["patient", "doctor", "admin", "clinic_admin", "receptionist", "pharmacist", "assistant"]
    approved: bool
    phone: str | None
    timezone: str
    created_at: datetime
    email_verified: bool = False
    phone_verified: bool = False
    mfa_enabled: bool = False
    active: bool = True
    language: str = "en"
    clinic_id: IdOut | None = None
    rejected_at: datetime | None = None  # a doctor whose account a platform admin rejected
    rejection_reason: str | None = None


class PublicUserOut(FromDocument):
    """What one user may see of another (a doctor to a patient, and the reverse)."""

    id: IdOut
    name: str
    role: Literal["patient", "doctor", "admin", "clinic_admin", "receptionist", "pharmacist", "assistant"]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    user: UserOut
