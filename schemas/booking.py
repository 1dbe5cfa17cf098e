"""Requests, responses and events of clinics, schedules, booking, the waitlist and diagnostics."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import EmailStr
from pydantic import Field
from pydantic import StringConstraints
from pydantic import field_validator
from pydantic import model_validator

from schemas.common import AwareTimestamp
from schemas.common import CalendarDate
from schemas.common import Name
from schemas.common import ObjectIdStr
from schemas.common import PhoneE164
from schemas.common import RequestModel
from schemas.common import TimezoneName

STEP_MINUTES = 5  # every clock time and duration sits on the 5-minute grid the unique indexes use
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

DiagnosticKind = Literal["blood_test", "xray", "ct", "mri", "health_check"]
AppointmentStatus = Literal["booked", "confirmed", "checked_in", "cancelled", "completed", "no_show"]


def _clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError("must be a time HH:MM between 00:00 and 24:00")
    if int(value[3:]) % STEP_MINUTES:
        raise ValueError(f"must be on a {STEP_MINUTES}-minute boundary")
    return value


def _minutes(value: str) -> int:
    return int(value[:2]) * 60 + int(value[3:])


def _specialty(value: str) -> str:
    cleaned = " ".join(value.split()).lower()
    if not 2 <= len(cleaned) <= 60:
        raise ValueError("each specialty must be 2 to 60 characters")
    return cleaned


ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class ClinicCreateRequest(RequestModel):
    name: Name
    timezone: TimezoneName
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    phone: PhoneE164 | None = None
    email: EmailStr | None = None


class DoctorProfileRequest(RequestModel):
    clinic_id: ObjectIdStr | None = None
    # Left out keeps them; null is refused (422): a profile always has at least one. (The documented
    # schema has no default: null is not a valid list.)
    specialties: list[Annotated[str, StringConstraints(max_length=200)]] = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=10, json_schema_extra=lambda schema: schema.pop("default", None)
    )
    bio: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    fee: float | None = Field(default=None, ge=0, le=1_000_000)

    @field_validator("specialties")
    @classmethod
    def _clean_specialties(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        return list(dict.fromkeys(_specialty(item) for item in value))


class WeeklyWindowIn(RequestModel):
    weekday: int = Field(ge=0, le=6)
    start: str
    end: str

    _check_clock = field_validator("start", "end")(lambda cls, v: _clock(v))

    @model_validator(mode="after")
    def _ordered(self) -> WeeklyWindowIn:
        if self.start == "24:00":
            raise ValueError("start must be before 24:00")
        if _minutes(self.end) <= _minutes(self.start):
            raise ValueError("end must be after start")
        return self


class ExceptionIn(RequestModel):
    date: CalendarDate
    closed: bool = False
    start: str | None = None
    end: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _check_clock(cls, value: str | None) -> str | None:
        return None if value is None else _clock(value)

    @model_validator(mode="after")
    def _closed_or_window(self) -> ExceptionIn:
        if self.closed:
            if self.start or self.end:
                raise ValueError("a closed day takes no start or end")
            return self
        if not (self.start and self.end):
            raise ValueError("give closed: true, or both start and end")
        if _minutes(self.end) <= _minutes(self.start):
            raise ValueError("end must be after start")
        return self


class AvailabilityRequest(RequestModel):
    slot_minutes: int = Field(ge=5, le=480)
    buffer_minutes: int = Field(default=0, ge=0, le=240)
    weekly: list[WeeklyWindowIn] = Field(max_length=70)
    exceptions: list[ExceptionIn] = Field(default_factory=list, max_length=500)

    @field_validator("slot_minutes", "buffer_minutes")
    @classmethod
    def _on_grid(cls, value: int) -> int:
        if value % STEP_MINUTES:
            raise ValueError(f"must be a multiple of {STEP_MINUTES}")
        return value

    @model_validator(mode="after")
    def _no_overlaps(self) -> AvailabilityRequest:
        by_day: dict[int, list[tuple[int, int]]] = {}
        for window in self.weekly:
            by_day.setdefault(window.weekday, []).append((_minutes(window.start), _minutes(window.end)))
        for day, spans in by_day.items():
            spans.sort()
            for (_, end), (start, _) in zip(spans, spans[1:]):
                if start < end:
                    raise ValueError(f"weekly windows overlap on weekday {day}")
        dates = [exception.date for exception in self.exceptions]
        if len(dates) != len(set(dates)):
            raise ValueError("each exception date may appear only once")
        return self


class TestCentreCreateRequest(RequestModel):
    __test__ = False

    name: Name
    kind: DiagnosticKind
    clinic_id: ObjectIdStr
    capacity: int = Field(ge=1, le=100)
    weekly: list[WeeklyWindowIn] = Field(max_length=70)
    exceptions: list[ExceptionIn] = Field(default_factory=list, max_length=500)

    @model_validator(mode="after")
    def _hourly(self) -> TestCentreCreateRequest:
        AvailabilityRequest(slot_minutes=60, weekly=self.weekly, exceptions=self.exceptions)
        return self


class DateRangeQuery(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    from_: CalendarDate = Field(alias="from")
    to: CalendarDate

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _plain_date(cls, value: object) -> object:
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError("must be a date YYYY-MM-DD")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> DateRangeQuery:
        if self.to < self.from_:
            raise ValueError("'to' must not be before 'from'")
        if (self.to - self.from_).days > 62:
            raise ValueError("the range may span at most 63 days")
        return self


class DoctorListQuery(RequestModel):
    specialty: Annotated[str, StringConstraints(max_length=200)] | None = None
    clinic_id: ObjectIdStr | None = None


class TestCentreListQuery(RequestModel):
    __test__ = False

    kind: DiagnosticKind | None = None
    clinic_id: ObjectIdStr | None = None


class BookRequest(RequestModel):
    doctor_id: ObjectIdStr | None = None
    test_centre_id: ObjectIdStr | None = None
    start: AwareTimestamp
    reason: ShortText | None = None
    client_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    patient_id: ObjectIdStr | None = None  # admins booking for a patient

    @model_validator(mode="after")
    def _one_resource(self) -> BookRequest:
        if bool(self.doctor_id) == bool(self.test_centre_id):
            raise ValueError("give exactly one of doctor_id and test_centre_id")
        return self


class RescheduleRequest(RequestModel):
    start: AwareTimestamp


class CancelRequest(RequestModel):
    reason: ShortText | None = None


class StatusRequest(RequestModel):
    status: Literal["confirmed", "completed", "no_show"]


class AppointmentListQuery(RequestModel):
    status: AppointmentStatus | None = None
    upcoming: bool = False
    limit: int = Field(default=100, ge=1, le=500)


class WaitlistRequest(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    doctor_id: ObjectIdStr
    from_: AwareTimestamp = Field(alias="from")
    to: AwareTimestamp

    @model_validator(mode="after")
    def _ordered(self) -> WaitlistRequest:
        if self.to <= self.from_:
            raise ValueError("'to' must be after 'from'")
        if (self.to - self.from_).days > 92:
            raise ValueError("a waitlist window may span at most 92 days")
        return self


class ScheduleWatchRequest(RequestModel):
    doctor_id: ObjectIdStr | None = None
    test_centre_id: ObjectIdStr | None = None

    @model_validator(mode="after")
    def _one_resource(self) -> ScheduleWatchRequest:
        if bool(self.doctor_id) == bool(self.test_centre_id):
            raise ValueError("give exactly one of doctor_id and test_centre_id")
        return self


# ---- responses ----


class ClinicOut(BaseModel):
    id: str
    name: str
    timezone: str
    address: str | None
    phone: str | None
    email: str | None


class WeeklyWindowOut(BaseModel):
    weekday: int
    start: str
    end: str


class ExceptionOut(BaseModel):
    date: str
    closed: bool
    start: str | None
    end: str | None


class AvailabilityOut(BaseModel):
    slot_minutes: int
    buffer_minutes: int
    weekly: list[WeeklyWindowOut]
    exceptions: list[ExceptionOut]


class DoctorProfileOut(BaseModel):
    id: str  # the doctor's user id
    name: str
    clinic_id: str
    clinic_name: str
    timezone: str
    specialties: list[str]
    bio: str | None
    fee: float | None
    availability: AvailabilityOut


class TestCentreOut(BaseModel):
    __test__ = False

    id: str
    name: str
    kind: DiagnosticKind
    clinic_id: str
    clinic_name: str
    timezone: str
    capacity: int
    availability: AvailabilityOut


class SlotOut(BaseModel):
    start: datetime  # UTC
    end: datetime
    local_start: str  # ISO with the clinic's offset
    local_date: str
    local_time: str
    timezone: str
    doctor_id: str | None = None
    doctor_name: str | None = None
    test_centre_id: str | None = None
    remaining: int | None = None  # capacity left (diagnostics)


class AppointmentOut(BaseModel):
    id: str
    kind: Literal["consultation", "diagnostic"]
    patient_id: str
    doctor_id: str | None
    test_centre_id: str | None
    clinic_id: str
    resource_name: str
    clinic_name: str
    start: datetime
    end: datetime
    timezone: str
    local_start: str
    status: AppointmentStatus
    reason: str | None
    client_id: str
    token: str
    created_at: datetime
    confirmed_at: datetime | None
    checked_in_at: datetime | None = None  # the front desk checked the patient in
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancel_reason: str | None


class WaitlistEntryOut(BaseModel):
    id: str
    patient_id: str
    doctor_id: str
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    status: Literal["waiting", "offered", "booked", "cancelled"]
    offer_start: datetime | None
    offer_expires_at: datetime | None
    appointment_id: str | None
    created_at: datetime


# ---- events ----


class SlotChangedEvent(BaseModel):
    """slot:taken and slot:freed, to a schedule's watchers."""

    doctor_id: str | None
    test_centre_id: str | None = None
    start: datetime
    end: datetime
    remaining: int | None = None


class BookingConflictEvent(BaseModel):
    """booking:conflict, to every socket of the patient whose booking lost the race."""

    doctor_id: str | None
    test_centre_id: str | None = None
    start: datetime
    alternatives: list[SlotOut]


class AppointmentEvent(BaseModel):
    """appointment:booked / :cancelled / :rescheduled / :confirmed / :status, to the doctor and the patient."""

    appointment: AppointmentOut
    previous_start: datetime | None = None


class WaitlistOfferEvent(BaseModel):
    """waitlist:offer, to the patient the freed slot is held for."""

    entry_id: str
    doctor_id: str
    doctor_name: str
    start: datetime
    end: datetime
    local_start: str
    timezone: str
    expires_at: datetime


EVENT_SCHEMAS: dict[str, type[BaseModel]] = {
    "slot:taken": SlotChangedEvent,
    "slot:freed": SlotChangedEvent,
    "booking:conflict": BookingConflictEvent,
    "appointment:booked": AppointmentEvent,
    "appointment:cancelled": AppointmentEvent,
    "appointment:rescheduled": AppointmentEvent,
    "appointment:confirmed": AppointmentEvent,
    "appointment:status": AppointmentEvent,
    "waitlist:offer": WaitlistOfferEvent,
}
