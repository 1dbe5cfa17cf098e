"""Care relations: the one place that answers "may this doctor see this patient's health data".

A doctor is in a patient's care team while one of these holds:
- a CareRelation that has not ended and whose `until` has not passed (the patient opened a
  conversation with the doctor, an admin assigned them, or the doctor took emergency access);
- an appointment with the doctor that is booked, confirmed or completed and started less than
  ENGAGE_CARE_RELATION_DAYS ago (read from the appointments themselves).
A conversation alone is not a relation: a doctor can open one only inside a relation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId
from bson import ObjectId

from engage.config import get_settings
from engage.errors import forbidden
from engage.errors import not_found
from engage.lib.users import access_user
from engage.models.appointment import Appointment
from engage.models.base import utcnow
from engage.models.care import CareRelation
from engage.models.care import CareSource
from engage.models.user import Role
from engage.models.user import User

# Cancelled and no-show appointments do not make a doctor someone's doctor.
ACTIVE_APPOINTMENT_STATUSES = ["booked", "confirmed", "checked_in", "completed"]


@dataclass(frozen=True)
class CareLink:
    """One reason a doctor is in a patient's care team, stored or derived."""

    doctor_id: str
    patient_id: str
    source: CareSource
    since: datetime
    until: datetime | None
    reason: str | None = None
    relation_id: str | None = None


def _oid(value: str) -> PydanticObjectId | None:
    return PydanticObjectId(str(value)) if ObjectId.is_valid(str(value)) else None


def _open_relations(now: datetime) -> dict[str, Any]:
    return {"ended_at": None, "$or": [{"until": None}, {"until": {"$gt": now}}]}


def _appointments_since(now: datetime) -> datetime:
    return now - timedelta(days=get_settings().care_relation_days)


async def care_links(patient_id: str, doctor_id: str | None = None, now: datetime | None = None) -> list[CareLink]:
    """Every current reason a doctor (or each doctor) is in the patient's care team."""
    now = now or utcnow()
    patient = _oid(patient_id)
    doctor = _oid(doctor_id) if doctor_id is not None else None
    if patient is None or (doctor_id is not None and doctor is None):
        return []
    pair: dict[str, Any] = {"patient_id": patient} | ({"doctor_id": doctor} if doctor else {})
    links = [
        CareLink(str(r.doctor_id), patient_id, r.source, r.since, r.until, r.reason, str(r.id))
        for r in await CareRelation.find({**pair, **_open_relations(now)}).to_list()
    ]
    # One link per doctor for appointments: from the first to ENGAGE_CARE_RELATION_DAYS after the last.
    appointments = Appointment.get_pymongo_collection().find(
        {**pair, "doctor_id": doctor or {"$ne": None}, "status": {"$in": ACTIVE_APPOINTMENT_STATUSES}, "start": {"$gte": _appointments_since(now)}},
        projection={"doctor_id": 1, "start": 1, "created_at": 1},
    )
    spans: dict[str, tuple[datetime, datetime]] = {}
    async for row in appointments:
        key = str(row["doctor_id"])
        first, last = spans.get(key, (row.get("created_at") or row["start"], row["start"]))
        spans[key] = (min(first, row.get("created_at") or row["start"]), max(last, row["start"]))
    days = timedelta(days=get_settings().care_relation_days)
    links += [CareLink(d, patient_id, CareSource.appointment, first, last + days) for d, (first, last) in spans.items()]
    return links


async def care_link(doctor_id: str, patient_id: str) -> CareLink | None:
    """The doctor's strongest current link to the patient (an emergency link only when nothing else holds)."""
    links = await care_links(patient_id, doctor_id)
    routine = [link for link in links if link.source != CareSource.emergency]
    return (routine or links or [None])[0]


async def is_care_related(doctor_id: str, patient_id: str) -> bool:
    return await care_link(doctor_id, patient_id) is not None


async def care_doctor_ids(patient_id: str) -> list[str]:
    """Every doctor in the patient's care team, as id strings (sorted, no repeats)."""
    return sorted({link.doctor_id for link in await care_links(patient_id)})


async def care_patient_ids(doctor_id: str) -> list[str]:
    """Every patient in whose care team the doctor is (through a relation or an appointment)."""
    doctor = _oid(doctor_id)
    if doctor is None:
        return []
    now = utcnow()
    ids = {str(p) for p in await CareRelation.get_pymongo_collection().distinct("patient_id", {"doctor_id": doctor, **_open_relations(now)})}
    ids |= {
        str(p)
        for p in await Appointment.get_pymongo_collection().distinct(
            "patient_id", {"doctor_id": doctor, "status": {"$in": ACTIVE_APPOINTMENT_STATUSES}, "start": {"$gte": _appointments_since(now)}}
        )
    }
    return sorted(ids)


@dataclass(frozen=True)
class PatientAccess:
    """Why a user may see a patient's health data."""

    patient: User
    emergency: bool = False  # only through break-glass access (audited as such)
    reason: str | None = None


async def access_patient_data(user_id: str, role: str, patient_id: str) -> User:
    """The patient whose health data the user may see: themselves, or a patient in the doctor's care."""
    return (await access_patient(user_id, role, patient_id)).patient


async def access_patient(user_id: str, role: str, patient_id: str) -> PatientAccess:
    """Like access_patient_data, with the kind of access.

    Anyone outside the care team gets the same 404 for a real patient as for an id that does
    not exist, so ids cannot be probed.
    """
    if role == Role.patient.value:
        if str(user_id) != str(patient_id):
            raise not_found("Patient")
        return PatientAccess(await access_user(patient_id, Role.patient, what="Patient"))
    if role != Role.doctor.value:
        raise forbidden("Only the patient and their doctors can see this health data.")
    link = await care_link(user_id, patient_id)
    if link is None:
        raise not_found("Patient")
    patient = await access_user(patient_id, Role.patient, what="Patient")
    emergency = link.source == CareSource.emergency
    return PatientAccess(patient, emergency=emergency, reason=link.reason if emergency else None)


def object_id(value: str) -> PydanticObjectId:
    return PydanticObjectId(str(value))

