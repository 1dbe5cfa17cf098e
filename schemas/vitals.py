"""Vitals, alerts, advice and medication: requests, responses and the events pushed to sockets."""

from __future__ import annotations

from datetime import date
from datetime import datetime
from typing import Annotated
from typing import Literal

from pydantic import BaseModel
from pydantic import Field
from pydantic import StringConstraints
from pydantic import field_validator
from pydantic import model_validator

from schemas.common import AwareTimestamp
from schemas.common import CalendarDate
from schemas.common import FromDocument
from schemas.common import IdOut
from schemas.common import ObjectIdStr
from schemas.common import RequestModel

VitalType = Literal["blood_pressure", "heart_rate", "glucose", "weight", "spo2", "temperature"]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Severity = Literal["info", "warning", "critical"]
AlertStatus = Literal["open", "acked", "cleared"]
MAX_BATCH = 500


# ---- requests -------------------------------------------------------------------------------


class ReadingIn(RequestModel):
    type: VitalType
    value: Number | None = None
    systolic: Number | None = None
    diastolic: Number | None = None
    unit: Annotated[str, StringConstraints(max_length=16)] | None = None
    taken_at: AwareTimestamp
    source: Literal["manual", "device"] = "manual"
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class WatchRequest(RequestModel):
    patient_id: ObjectIdStr


class AckRequest(RequestModel):
    alert_id: ObjectIdStr
    snooze_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


class TrendQuery(RequestModel):
    type: VitalType
    from_: AwareTimestamp | None = Field(default=None, alias="from")
    to: AwareTimestamp | None = None
    bucket: Literal["hour", "day", "week"] = "day"


class ReadingsQuery(RequestModel):
    type: VitalType | None = None
    from_: AwareTimestamp | None = Field(default=None, alias="from")
    to: AwareTimestamp | None = None
    limit: int = Field(default=200, ge=1, le=1000)


class AlertsQuery(RequestModel):
    status: Literal["active", "open", "acked", "cleared", "all"] = "active"
    limit: int = Field(default=100, ge=1, le=500)


class RangeThreshold(RequestModel):
    low: Number | None = None
    high: Number | None = None
    unit: Annotated[str, StringConstraints(max_length=16)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RangeThreshold:
        if self.low is None and self.high is None:
            raise ValueError("give low, high or both")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError("low must be below high")
        return self


class BloodPressureThreshold(RequestModel):
    systolic_high: Number | None = None
    diastolic_high: Number | None = None
    systolic_low: Number | None = None
    diastolic_low: Number | None = None

    @model_validator(mode="after")
    def _ordered(self) -> BloodPressureThreshold:
        if all(v is None for v in (self.systolic_high, self.diastolic_high, self.systolic_low, self.diastolic_low)):
            raise ValueError("give at least one limit")
        for low, high in ((self.systolic_low, self.systolic_high), (self.diastolic_low, self.diastolic_high)):
            if low is not None and high is not None and low >= high:
                raise ValueError("low limits must be below high limits")
        return self


class ThresholdsRequest(RequestModel):
    blood_pressure: BloodPressureThreshold | None = None
    heart_rate: RangeThreshold | None = None
    glucose: RangeThreshold | None = None
    weight: RangeThreshold | None = None
    spo2: RangeThreshold | None = None
    temperature: RangeThreshold | None = None


class MonitoringRequest(RequestModel):
    enrolled: bool
    no_data_hours: int = Field(default=72, ge=1, le=24 * 30)


class AdviceRequest(RequestModel):
    patient_id: ObjectIdStr | None = None


class AdviceQuery(RequestModel):
    patient_id: ObjectIdStr | None = None
    limit: int = Field(default=20, ge=1, le=100)


LocalTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class PrescriptionRequest(RequestModel):
    drug: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    dose: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    times: list[LocalTime] = Field(min_length=1, max_length=12)
    start_date: CalendarDate
    end_date: CalendarDate
    instructions: Annotated[str, StringConstraints(max_length=1000)] | None = None
    missed_doses_alert: int | None = Field(default=None, ge=1, le=50)

    @field_validator("times")
    @classmethod
    def _distinct(cls, times: list[str]) -> list[str]:
        if len(set(times)) != len(times):
            raise ValueError("times must be distinct")
        return sorted(times)

    @model_validator(mode="after")
    def _dates(self) -> PrescriptionRequest:
        if self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        if (self.end_date - self.start_date).days > 366 * 2:
            raise ValueError("a prescription spans at most two years")
        return self


class DoseTakenRequest(RequestModel):
    dose_id: ObjectIdStr | None = None
    prescription_id: ObjectIdStr | None = None


# ---- outputs and events ---------------------------------------------------------------------


class GivenOut(FromDocument):
    unit: str
    value: float | None = None
    systolic: float | None = None
    diastolic: float | None = None


class ReadingOut(FromDocument):
    id: IdOut
    patient_id: IdOut
    type: VitalType
    unit: str
    value: float | None = None
    systolic: float | None = None
    diastolic: float | None = None
    category: str | None = None
    given: GivenOut
    taken_at: datetime
    source: Literal["manual", "device"]
    note: str | None = None
    created_at: datetime


class ReadingEvent(BaseModel):
    """vitals:reading — a stored reading, to the patient's watchers and the patient's own sockets."""

    reading: ReadingOut


class ItemError(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: list[dict] | None = None


class ItemResult(BaseModel):
    index: int
    status: Literal["created", "duplicate", "invalid"]
    id: str | None = None
    error: ItemError | None = None


class SubmitResult(BaseModel):
    results: list[ItemResult]
    created: int
    duplicates: int
    invalid: int


class AlertOut(FromDocument):
    id: IdOut
    patient_id: IdOut
    patient_name: str
    key: str
    rule: str
    type: str | None = None
    severity: Severity
    status: AlertStatus
    message: str
    reading_id: IdOut | None = None
    trigger_count: int
    opened_at: datetime
    last_triggered_at: datetime
    acked_by: IdOut | None = None
    acked_at: datetime | None = None
    snoozed_until: datetime | None = None
    cleared_at: datetime | None = None


class AlertEvent(BaseModel):
    """vitals:alert — a new (or re-opened, or escalated) alert, to the patient's doctors and watchers."""

    alert: AlertOut


class AlertAckedEvent(BaseModel):
    """vitals:acked — a doctor acknowledged an alert; every watcher and the patient's doctors see it."""

    alert: AlertOut
    acked_by_name: str


class AlertClearedEvent(BaseModel):
    """vitals:cleared — readings returned to range."""

    alert: AlertOut


class BucketStats(BaseModel):
    min: float
    avg: float
    max: float


class TrendBucket(BaseModel):
    start: datetime
    start_local: str
    count: int
    min: float | None = None
    avg: float | None = None
    max: float | None = None
    systolic: BucketStats | None = None
    diastolic: BucketStats | None = None


class TrendOut(BaseModel):
    patient_id: str
    type: VitalType
    unit: str
    bucket: Literal["hour", "day", "week"]
    timezone: str
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    buckets: list[TrendBucket]


class AdviceItem(BaseModel):
    id: str
    rule: str
    guideline: str
    vital_type: str | None = None
    severity: Literal["info", "warning", "urgent"]
    text: str


class AdviceOut(BaseModel):
    id: str
    patient_id: str
    requested_by: str
    status: Literal["pending", "ready", "failed"]
    provider: Literal["guidelines", "llm"] | None = None
    fallback_reason: str | None = None
    items: list[AdviceItem]
    urgent: bool
    disclaimer: str | None = None
    summary: dict | None = None
    created_at: datetime
    ready_at: datetime | None = None


class AdviceReadyEvent(BaseModel):
    """advice:ready — the advice a patient (or their doctor) asked for is stored and ready."""

    advice: AdviceOut


class PrescriptionOut(FromDocument):
    id: IdOut
    patient_id: IdOut
    doctor_id: IdOut
    drug: str
    dose: str
    times: list[str]
    timezone: str
    start_date: date
    end_date: date
    instructions: str | None = None
    missed_doses_alert: int
    active: bool
    created_at: datetime


class DispensingOut(BaseModel):
    """A pharmacy handed this prescription's medication to the patient."""

    at: datetime
    quantity: int
    order_id: str | None


class AdherenceOut(BaseModel):
    prescription_id: str
    taken: int
    missed: int
    pending: int
    adherence_percent: float | None
    consecutive_missed: int


class DoseOut(FromDocument):
    id: IdOut
    prescription_id: IdOut
    scheduled_at: datetime
    local_time: str
    local_date: date
    status: Literal["pending", "taken", "missed"]
    taken_at: datetime | None = None


class DoseEvent(BaseModel):
    """medication:dose — a dose changed state (taken or missed), to the patient's sockets."""

    dose: DoseOut


class FhirObservationQuery(RequestModel):
    patient: ObjectIdStr
    count: int = Field(default=100, ge=1, le=1000, alias="_count")
