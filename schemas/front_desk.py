"""Requests and answers of a clinic's front desk (receptionists and clinic admins): the day's
appointments with patient names, patient search, booking for a patient, moving, cancelling with a
reason, checking in (engage/actions/front_desk.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel
from pydantic import StringConstraints

from schemas.booking import AppointmentOut
from schemas.booking import BookRequest
from schemas.common import CalendarDate
from schemas.common import ObjectIdStr
from schemas.common import RequestModel


class FrontDeskDayQuery(RequestModel):
    date: CalendarDate | None = None  # the clinic's local date; today there when absent


class PatientSearchQuery(RequestModel):
    # A name, email or phone fragment matches the clinic's own patients; a whole email matches anyone's account.
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)]


class FrontDeskBookRequest(BookRequest):
    """A booking the desk makes for a patient: the same fields as a patient's, with the patient named."""

    patient_id: ObjectIdStr  # type: ignore[assignment]  # required here


class FrontDeskCancelRequest(RequestModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class FrontDeskAppointmentOut(AppointmentOut):
    """An appointment as the desk sees it: with whom it is."""

    patient_name: str
    patient_phone: str | None


class FrontDeskAppointmentEnvelope(BaseModel):
    appointment: FrontDeskAppointmentOut


class FrontDeskDayOut(BaseModel):
    clinic_id: str
    date: str  # the clinic's local date
    timezone: str
    appointments: list[FrontDeskAppointmentOut]


class PatientMatchOut(BaseModel):
    id: str
    name: str
    email: str
    phone: str | None  # only for the clinic's own patients
    clinic_patient: bool  # has an appointment at this clinic or a care relation with one of its doctors


class PatientSearchOut(BaseModel):
    patients: list[PatientMatchOut]
