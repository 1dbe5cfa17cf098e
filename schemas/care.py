"""Care relations, emergency access and the audit log: requests and responses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from pydantic import Field

from schemas.common import AwareTimestamp
from schemas.common import ObjectIdStr
from schemas.common import RequestModel
from schemas.users import PublicUserOut

Reason = Field(min_length=10, max_length=500)


class EmergencyAccessRequest(RequestModel):
    reason: str = Reason


class AssignRelationRequest(RequestModel):
    patient_id: ObjectIdStr
    doctor_id: ObjectIdStr
    reason: str | None = Field(default=None, max_length=500)


class EndRelationRequest(RequestModel):
    reason: str | None = Field(default=None, max_length=500)


class CareRelationOut(BaseModel):
    id: str | None  # None for relations derived from appointments
    patient_id: str
    doctor: PublicUserOut
    source: Literal["conversation", "appointment", "assigned", "emergency"]
    since: datetime
    until: datetime | None
    reason: str | None
    ended_at: datetime | None = None


class AccessLogQuery(RequestModel):
    limit: int = Field(default=50, ge=1, le=200)
    before: AwareTimestamp | None = None  # the `at` of the last entry of the previous page


class AuditQuery(AccessLogQuery):
    actor_id: ObjectIdStr | None = None
    subject_id: ObjectIdStr | None = None
    action: str | None = Field(default=None, max_length=100)
    emergency: bool | None = None


class AuditEntryOut(BaseModel):
    at: datetime
    actor: PublicUserOut | None  # None when the account no longer exists
    subject_id: str
    action: str
    resource: str
    reason: str | None
    emergency: bool


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_before: datetime | None


class EmergencyAccessEvent(BaseModel):
    """care:emergency_access, to the patient: a doctor opened their record without a relation."""

    relation: CareRelationOut
