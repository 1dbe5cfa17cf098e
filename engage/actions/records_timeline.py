"""Reading the record: the timeline of everything, newest first, in pages (audited for anyone but the patient).

Each source is one bounded query on its (patient_id, time) index for at most limit+1 rows before
the cursor (time, id); merging them and keeping `limit` gives the page, and a row left over means there is
a next page. A page therefore costs one query per source, however long the record is.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId
from pydantic import BaseModel

from engage.actions.medication import prescription_out
from engage.actions.records import access_record_reader
from engage.lib.booking import appointment_out
from engage.lib.records import allergy_out
from engage.lib.records import document_out
from engage.lib.records import encounter_out
from engage.lib.records import lab_result_out
from engage.lib.records import problem_out
from engage.models.appointment import Appointment
from engage.models.base import utcnow
from engage.models.document import MedicalDocument
from engage.models.medication import Prescription
from engage.models.records import ENTERED_IN_ERROR
from engage.models.records import Allergy
from engage.models.records import Encounter
from engage.models.records import LabResult
from engage.models.records import Problem
from engage.models.user import Role
from engage.models.user import User
from engage.models.vitals import VitalReading
from schemas.records import RecordOut
from schemas.records import TimelineItem
from schemas.records import TimelineQuery
from schemas.records import VitalLatest

VITALS_SUMMARY_WINDOWS = (1, 7, 30, 90)  # days
VITAL_TYPES = ("blood_pressure", "heart_rate", "glucose", "spo2", "temperature", "weight")


@dataclass(frozen=True)
class Source:
    kind: str
    model: Any
    time_field: str
    status_field: str | None
    title: Callable[[Any], str]
    out: Callable[[Any], Any]


def _lab_title(r: LabResult) -> str:
    flag = "" if r.flag == "normal" else f" ({r.flag.replace('_', ' ')})"
    return f"{r.test_name} {r.value:g} {r.unit}{flag}"


SOURCES: tuple[Source, ...] = (
    Source("encounter", Encounter, "occurred_at", "status", lambda e: f"Visit note by {e.author_name}", encounter_out),
    Source("problem", Problem, "recorded_at", "status", lambda p: p.condition, problem_out),
    Source("allergy", Allergy, "recorded_at", "status", lambda a: f"Allergy: {a.substance}", allergy_out),
    Source("lab_result", LabResult, "taken_at", "status", _lab_title, lab_result_out),
    Source("document", MedicalDocument, "uploaded_at", "record_status", lambda d: d.filename, lambda d: document_out(d, with_text=False)),
    Source("prescription", Prescription, "created_at", None, lambda p: f"{p.drug} {p.dose}", prescription_out),
    Source("appointment", Appointment, "start", None, lambda a: f"Appointment: {a.resource_name}", appointment_out),
)
KINDS = {source.kind for source in SOURCES}


def _status(row: Any, source: Source) -> str:
    if source.kind == "prescription":
        return "active" if row.active else "stopped"
    return getattr(row, source.status_field or "status")


def _filters(source: Source, patient: User, viewer_id: str, viewer_role: str, query: TimelineQuery) -> dict[str, Any]:
    clauses: list[dict[str, Any]] = [{"patient_id": patient.id}]
    if query.before is not None:
        # (time, _id) is the cursor: entries sharing the boundary's time are neither skipped nor repeated.
        field = source.time_field
        same_time = {field: query.before, "_id": {"$lt": PydanticObjectId(query.before_id)}} if query.before_id else None
        clauses.append({"$or": [{field: {"$lt": query.before}}, same_time]} if same_time else {field: {"$lt": query.before}})
    if source.status_field and not query.include_entered_in_error:
        clauses.append({source.status_field: {"$ne": ENTERED_IN_ERROR}})
    if source.kind == "encounter":
        # Patients read signed notes; a draft is its author's alone.
        if viewer_role == Role.doctor.value:
            clauses.append({"$or": [{"status": {"$ne": "draft"}}, {"author_id": PydanticObjectId(viewer_id)}]})
        else:
            clauses.append({"status": {"$in": ["signed", ENTERED_IN_ERROR] if query.include_entered_in_error else ["signed"]}})
    if source.kind == "appointment":
        clauses.append({"status": {"$ne": "held"}})
    return {"$and": clauses}


async def timeline_page(patient: User, viewer_id: str, viewer_role: str, query: TimelineQuery) -> tuple[list[TimelineItem], datetime | None, str | None]:
    wanted = set(query.kinds.split(",")) & KINDS if query.kinds else KINDS
    rows: list[tuple[datetime, str, Any, Source]] = []
    for source in SOURCES:
        if source.kind not in wanted:
            continue
        filters = _filters(source, patient, viewer_id, viewer_role, query)
        found = await source.model.find(filters).sort((source.time_field, -1), ("_id", -1)).limit(query.limit + 1).to_list()
        rows.extend((getattr(row, source.time_field), str(row.id), row, source) for row in found)
    newest = heapq.nlargest(query.limit + 1, rows, key=lambda r: (r[0], r[1]))
    page = newest[: query.limit]
    items = []
    for at, row_id, row, source in page:
        out = source.out(row)
        data = out.model_dump(mode="json", by_alias=True) if isinstance(out, BaseModel) else out
        items.append(TimelineItem(kind=source.kind, id=row_id, at=at, title=source.title(row), status=_status(row, source), data=data))
    if len(newest) > query.limit:
        return items, page[-1][0], page[-1][1]
    return items, None, None


async def vitals_summary(patient: User) -> list[VitalLatest]:
    """The newest reading of each type within the last 90 days.

    Each lookup is a bounded range on the (patient, type, taken_at) index, widened from a day to
    90 days only while nothing is found: a busy device's months of readings are never sorted.
    """
    now = utcnow()
    latest = []
    for vital_type in VITAL_TYPES:
        for days in VITALS_SUMMARY_WINDOWS:
            filters = {"patient_id": patient.id, "type": vital_type, "taken_at": {"$gte": now - timedelta(days=days), "$lte": now + timedelta(days=1)}}
            row = await VitalReading.find(filters).sort(-VitalReading.taken_at).first_or_none()
            if row is not None:
                latest.append(VitalLatest(type=row.type, unit=row.unit, value=row.value, systolic=row.systolic, diastolic=row.diastolic, taken_at=row.taken_at))
                break
    return latest


async def check_read_record(user_id: str, role: str, patient_id: str, query: TimelineQuery) -> RecordOut:
    """The patient's record, newest first: the patient themselves or a related doctor (audited)."""
    patient = await access_record_reader(user_id, role, patient_id, "record.read")
    items, next_before, next_before_id = await timeline_page(patient, user_id, role, query)
    problems = await Problem.find({"patient_id": patient.id, "status": "active"}).sort(-Problem.recorded_at).limit(100).to_list()
    allergies = await Allergy.find({"patient_id": patient.id, "status": "active"}).sort(-Allergy.recorded_at).limit(100).to_list()
    return RecordOut(
        patient_id=str(patient.id), patient_name=patient.name, items=items, next_before=next_before, next_before_id=next_before_id, vitals=await vitals_summary(patient),
        active_problems=[problem_out(p) for p in problems], active_allergies=[allergy_out(a) for a in allergies],
    )
