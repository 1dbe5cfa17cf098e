"""Shaping record entries for output, and who sees which entry."""

from __future__ import annotations

from beanie import PydanticObjectId

from engage.lib.records_labs import FLAG_TEXT
from engage.models.document import MedicalDocument
from engage.models.records import Allergy
from engage.models.records import Encounter
from engage.models.records import ErrorMark
from engage.models.records import LabResult
from engage.models.records import Problem
from engage.models.user import Role
from schemas.records import AllergyOut
from schemas.records import DocumentOut
from schemas.records import EncounterOut
from schemas.records import ErrorMarkOut
from schemas.records import LabResultOut
from schemas.records import NoteVersionOut
from schemas.records import ProblemOut
from schemas.records import SoapOut
from schemas.records import SuggestionOut


def _id(value: PydanticObjectId | None) -> str | None:
    return str(value) if value is not None else None


def _error(mark: ErrorMark | None) -> ErrorMarkOut | None:
    return ErrorMarkOut(by=str(mark.by), at=mark.at, reason=mark.reason) if mark else None


def encounter_visible(encounter: Encounter, viewer_id: str, viewer_role: str) -> bool:
    """Patients read signed notes (open notes); a draft is its author's alone."""
    if encounter.status == "draft":
        return viewer_role == Role.doctor.value and str(encounter.author_id) == str(viewer_id)
    return True


def encounter_out(e: Encounter) -> EncounterOut:
    return EncounterOut(
        id=str(e.id),
        patient_id=str(e.patient_id),
        author_id=str(e.author_id),
        author_name=e.author_name,
        appointment_id=_id(e.appointment_id),
        occurred_at=e.occurred_at,
        status=e.status,
        version=e.version,
        soap=SoapOut(**e.soap.model_dump()),
        signed_by=_id(e.signed_by),
        signed_at=e.signed_at,
        amendment_reason=e.amendment_reason,
        history=[
            NoteVersionOut(version=v.version, soap=SoapOut(**v.soap.model_dump()), signed_by=str(v.signed_by), signed_at=v.signed_at, amendment_reason=v.amendment_reason)
            for v in e.history
        ],
        error=_error(e.error),
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def problem_out(p: Problem) -> ProblemOut:
    return ProblemOut(
        id=str(p.id), patient_id=str(p.patient_id), condition=p.condition, icd10=p.icd10, onset=p.onset, status=p.status,
        recorded_by=str(p.recorded_by), recorded_at=p.recorded_at, updated_by=_id(p.updated_by), updated_at=p.updated_at, error=_error(p.error),
    )


def allergy_out(a: Allergy) -> AllergyOut:
    return AllergyOut(
        id=str(a.id), patient_id=str(a.patient_id), substance=a.substance, reaction=a.reaction, severity=a.severity, status=a.status,
        recorded_by=str(a.recorded_by), recorded_at=a.recorded_at, updated_by=_id(a.updated_by), updated_at=a.updated_at, error=_error(a.error),
    )


def lab_result_out(r: LabResult) -> LabResultOut:
    return LabResultOut(
        id=str(r.id), patient_id=str(r.patient_id), test_name=r.test_name, loinc=r.loinc, value=r.value, unit=r.unit,
        ref_low=r.ref_low, ref_high=r.ref_high, critical_low=r.critical_low, critical_high=r.critical_high, flag=r.flag,
        flag_text=FLAG_TEXT[r.flag], taken_at=r.taken_at, status=r.status, recorded_by=str(r.recorded_by), recorded_at=r.recorded_at,
        document_id=_id(r.document_id), alert_id=_id(r.alert_id), error=_error(r.error),
    )


def document_out(d: MedicalDocument, with_text: bool = True) -> DocumentOut:
    return DocumentOut(
        id=str(d.id), patient_id=str(d.patient_id), uploaded_by=str(d.uploaded_by), uploader_role=d.uploader_role, filename=d.filename,
        content_type=d.content_type, size=d.size, pages=d.pages, status=d.status, record_status=d.record_status,
        text=d.text if with_text else None, text_method=d.text_method, summary=d.summary, summary_provider=d.summary_provider,
        summary_fallback_reason=d.summary_fallback_reason,
        suggestions=[SuggestionOut(**{**s.model_dump(), "decided_by": _id(s.decided_by)}) for s in d.suggestions],
        failure=d.failure, uploaded_at=d.uploaded_at, processed_at=d.processed_at, download_url=f"/api/documents/{d.id}",
    )
