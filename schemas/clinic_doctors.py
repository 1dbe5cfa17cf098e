"""Doctors joining clinics (requests a clinic admin decides), a clinic's statistics and audit log,
and the signed-in user's clinic with its branding (issue 19)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from schemas.accounts import BrandingOut
from schemas.booking import ClinicOut
from schemas.booking import DoctorProfileOut
from schemas.common import RequestModel

MembershipStatusName = Literal["pending", "approved", "rejected", "withdrawn"]


class ClinicDoctorOut(BaseModel):
    """A doctor's request to join a clinic, or (status approved) a doctor of the clinic."""

    id: str | None  # the request's id; None for a doctor placed at the clinic before requests existed
    doctor_id: str
    doctor_name: str
    doctor_email: str | None
    account_approved: bool  # the platform's approval of the doctor's account: unlisted without it
    clinic_id: str
    clinic_name: str
    status: MembershipStatusName
    specialties: list[str]
    reason: str | None
    requested_at: datetime | None
    decided_at: datetime | None


class ClinicDoctorEnvelope(BaseModel):
    doctor: ClinicDoctorOut


class ClinicDoctorListOut(BaseModel):
    doctors: list[ClinicDoctorOut]


class ClinicDoctorQuery(RequestModel):
    status: Literal["pending", "approved", "rejected"] = "pending"


class DoctorProfileUpdateOut(BaseModel):
    """PATCH /api/doctors/{id}: the profile as it is now (None while a first request waits) and the
    request to join a clinic that this change made or left waiting, if any."""

    doctor: DoctorProfileOut | None
    clinic_request: ClinicDoctorOut | None = None


class MyClinicOut(BaseModel):
    """The clinic the signed-in user belongs to (for a patient: of their latest appointment, else of a
    care-team doctor), with its branding; both None when there is none."""

    clinic: ClinicOut | None
    branding: BrandingOut | None
    clinic_request: ClinicDoctorOut | None = None  # a doctor's request to join a clinic, while it waits
