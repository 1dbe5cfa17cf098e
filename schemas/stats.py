"""Admin statistics: appointments per day, no-shows, doctors' first-response times."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from pydantic import Field

from schemas.common import RequestModel


class StatsQuery(RequestModel):
    days: int = Field(default=30, ge=1, le=365)


class AppointmentDay(BaseModel):
    date: date  # UTC day of the appointment's start
    total: int  # every appointment that day, cancelled ones included
    cancelled: int
    no_show: int
    completed: int


class DoctorResponse(BaseModel):
    doctor_id: str
    name: str
    replies: int  # patient messages (or runs of them) that got a doctor's reply
    median_first_response_seconds: float


class StatsOut(BaseModel):
    days: int
    appointments_per_day: list[AppointmentDay]
    no_shows: int
    no_show_rate: float | None  # no-shows / appointments that are past and not cancelled
    doctors: list[DoctorResponse]
