"""Shaping record entries for output, and who sees which entry."""

from __future__ import annotations

from beanie import PydanticObjectId

from engage.lib.records_labs import FLAG_TEXT
from engage.models.document import MedicalDocument
from engage.models.records import Allergy
from engage.models.records import Encounter
from engage.models.records import LabResult
from engage.models.records import Problem
from engage.models.user import Role
from schemas.records import AllergyOut
from schemas.records import DocumentOut
from schemas.records import EncounterOut
from schemas.records import LabResultOut
from schemas.records import ProblemOut
from schemas.records import SuggestionOut


def _id(value: PydanticObjectId | None) -> str | None:
    return str(value) if value is not None else None


def encounter_visible(encounter: Encounter, viewer_id: str, viewer_role: str) -> bool:
    """Patients read signed notes (open notes); a draft is its author's alone."""
    if encounter.status == "draft":
        return viewer_role == Role.doctor.value and str(encounter.author_id) == str(viewer_id)
    return True


def encounter_out(e: Encounter) -> EncounterOut:
    return EncounterOut.model_validate(e)


def problem_out(p: Problem) -> ProblemOut:
    return ProblemOut.model_validate(p)


def allergy_out(a: Allergy) -> AllergyOut:
    return AllergyOut.model_validate(a)


def lab_result_out(r: LabResult) -> LabResultOut:
    # The one field not stored: the flag in words (the document's shape plus it).
    return LabResultOut.model_validate({**r.model_dump(), "flag_text": FLAG_TEXT[r.flag]})


# The shape differs from the document's: the text only when asked, a download URL, and each
# suggestion's decider as a string; kept field by field.
def document_out(d: MedicalDocument, with_text: bool = True) -> DocumentOut:
    return DocumentOut(
        id=str(d.id), patient_id=str(d.patient_id), uploaded_by=str(d.uploaded_by), uploader_role=d.uploader_role, filename=d.filename,
        content_type=d.content_type, size=d.size, pages=d.pages, status=d.status, record_status=d.record_status,
        text=d.text if with_text else None, text_method=d.text_method, summary=d.summary, summary_provider=d.summary_provider,
        summary_fallback_reason=d.summary_fallback_reason,
        suggestions=[SuggestionOut(**{**s.model_dump(), "decided_by": _id(s.decided_by)}) for s in d.suggestions],
        failure=d.failure, uploaded_at=d.uploaded_at, processed_at=d.processed_at, download_url=f"/api/documents/{d.id}",
    )
