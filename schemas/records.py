"""The clinical record's requests and responses: notes, problems, allergies, lab results,
documents and their suggestions, the timeline and search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import Field
from pydantic import StringConstraints
from pydantic import model_validator

from schemas.common import AwareTimestamp
from schemas.common import CalendarDate
from schemas.common import FromDocument
from schemas.common import IdOut
from schemas.common import ObjectIdStr
from schemas.common import RequestModel
from schemas.vitals import PrescriptionRequest

NoteText = Annotated[str, StringConstraints(max_length=20_000)]
Reason = Annotated[str, StringConstraints(min_length=3, max_length=500)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Icd10 = Annotated[str, StringConstraints(pattern=r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")]
Loinc = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,7}-[0-9]$")]
Unit = Annotated[str, StringConstraints(min_length=1, max_length=30)]
LabValue = Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)]

RECORD_KINDS = ("encounters", "problems", "allergies", "lab-results", "documents")
RecordKind = Literal["encounters", "problems", "allergies", "lab-results", "documents"]
TimelineKind = Literal["encounter", "problem", "allergy", "lab_result", "document", "prescription", "appointment"]
LabFlag = Literal["normal", "low", "high", "critical_low", "critical_high"]


# ---- notes -------------------------------------------------------------------------------------


class SoapIn(RequestModel):
    subjective: NoteText = ""
    objective: NoteText = ""
    assessment: NoteText = ""
    plan: NoteText = ""


class EncounterCreateRequest(SoapIn):
    """POST /api/patients/{id}/encounters: a draft note, standalone or for an appointment."""

    appointment_id: ObjectIdStr | None = None
    occurred_at: AwareTimestamp | None = None  # default: the appointment's start, or now


class EncounterUpdateRequest(SoapIn):
    """PATCH a draft: the fields sent replace the draft's."""

    subjective: NoteText | None = None  # type: ignore[assignment]
    objective: NoteText | None = None  # type: ignore[assignment]
    assessment: NoteText | None = None  # type: ignore[assignment]
    plan: NoteText | None = None  # type: ignore[assignment]


class EncounterAmendRequest(SoapIn):
    """POST .../amend: the whole corrected note and why."""

    reason: Reason


class EnteredInErrorRequest(RequestModel):
    reason: Reason


class SoapOut(FromDocument):
    subjective: str
    objective: str
    assessment: str
    plan: str


class NoteVersionOut(FromDocument):
    version: int
    soap: SoapOut
    signed_by: IdOut
    signed_at: datetime
    amendment_reason: str | None = None


class ErrorMarkOut(FromDocument):
    by: IdOut
    at: datetime
    reason: str


class EncounterOut(FromDocument):
    id: IdOut
    patient_id: IdOut
    author_id: IdOut
    author_name: str
    appointment_id: IdOut | None
    occurred_at: datetime
    status: Literal["draft", "signed", "entered_in_error"]
    version: int
    soap: SoapOut
    signed_by: IdOut | None
    signed_at: datetime | None
    amendment_reason: str | None
    history: list[NoteVersionOut]
    error: ErrorMarkOut | None = None
    created_at: datetime
    updated_at: datetime


# ---- problems, allergies, lab results ----------------------------------------------------------


class ProblemRequest(RequestModel):
    condition: ShortText
    icd10: Icd10 | None = None
    onset: CalendarDate | None = None
    status: Literal["active", "resolved"] = "active"


class ProblemUpdateRequest(RequestModel):
    condition: ShortText | None = None
    icd10: Icd10 | None = None
    onset: CalendarDate | None = None
    status: Literal["active", "resolved"] | None = None


class ProblemOut(FromDocument):
    id: IdOut
    patient_id: IdOut
    condition: str
    icd10: str | None
    onset: str | None
    status: Literal["active", "resolved", "entered_in_error"]
    recorded_by: IdOut
    recorded_at: datetime
    updated_by: IdOut | None = None
    updated_at: datetime | None = None
    error: ErrorMarkOut | None = None


class AllergyRequest(RequestModel):
    substance: ShortText
    reaction: Annotated[str, StringConstraints(max_length=500)] | None = None
    severity: Literal["mild", "moderate", "severe"] = "moderate"
    status: Literal["active", "inactive"] = "active"


class AllergyUpdateRequest(RequestModel):
    reaction: Annotated[str, StringConstraints(max_length=500)] | None = None
    severity: Literal["mild", "moderate", "severe"] | None = None
    status: Literal["active", "inactive"] | None = None


class AllergyOut(FromDocument):
    id: IdOut
    patient_id: IdOut
    substance: str
    reaction: str | None
    severity: Literal["mild", "moderate", "severe"]
    status: Literal["active", "inactive", "entered_in_error"]
    recorded_by: IdOut
    recorded_at: datetime
    updated_by: IdOut | None = None
    updated_at: datetime | None = None
    error: ErrorMarkOut | None = None


class LabResultRequest(RequestModel):
    test_name: ShortText
    loinc: Loinc | None = None
    value: LabValue
    unit: Unit
    ref_low: LabValue | None = None
    ref_high: LabValue | None = None
    critical_low: LabValue | None = None
    critical_high: LabValue | None = None
    taken_at: AwareTimestamp | None = None  # default: now

    @model_validator(mode="after")
    def _ranges(self) -> LabResultRequest:
        if self.ref_low is not None and self.ref_high is not None and self.ref_low > self.ref_high:
            raise ValueError("ref_low must not be above ref_high")
        if self.critical_low is not None and self.critical_high is not None and self.critical_low > self.critical_high:
            raise ValueError("critical_low must not be above critical_high")
        return self


class LabResultOut(FromDocument):
    id: IdOut
    patient_id: IdOut
    test_name: str
    loinc: str | None
    value: float
    unit: str
    ref_low: float | None
    ref_high: float | None
    critical_low: float | None = None
    critical_high: float | None = None
    flag: LabFlag
    flag_text: str = Field(description="the flag in plain language, for patients")
    taken_at: datetime
    status: Literal["final", "entered_in_error"]
    recorded_by: IdOut
    recorded_at: datetime
    document_id: IdOut | None = None
    alert_id: IdOut | None = None
    error: ErrorMarkOut | None = None


# ---- documents -----------------------------------------------------------------------------


class SuggestionOut(BaseModel):
    id: str
    kind: Literal["lab", "medication"]
    fields: dict[str, Any]
    source_text: str
    status: Literal["pending", "accepted", "rejected"]
    decided_by: str | None = None
    decided_at: datetime | None = None
    created_id: str | None = None


class DocumentOut(BaseModel):
    id: str
    patient_id: str
    uploaded_by: str
    uploader_role: str
    filename: str
    content_type: Literal["application/pdf", "image/png", "image/jpeg"]
    size: int
    pages: int
    status: Literal["processing", "processed", "failed"]
    record_status: Literal["current", "entered_in_error"]
    text: str | None = Field(default=None, description="the extracted text (omitted in lists)")
    text_method: str | None = None
    summary: str | None = None
    summary_provider: Literal["extractive", "llm"] | None = None
    summary_fallback_reason: str | None = None
    suggestions: list[SuggestionOut]
    failure: str | None = None
    uploaded_at: datetime
    processed_at: datetime | None = None
    download_url: str


class LabSuggestionEdits(RequestModel):
    """What a doctor may correct when accepting a lab suggestion."""

    test_name: ShortText | None = None
    loinc: Loinc | None = None
    value: LabValue | None = None
    unit: Unit | None = None
    ref_low: LabValue | None = None
    ref_high: LabValue | None = None
    taken_at: AwareTimestamp | None = None


class AcceptSuggestionRequest(RequestModel):
    """Accept a suggestion: a lab value (optionally corrected) becomes a result; a medication
    becomes a prescription, whose schedule the doctor gives here."""

    lab: LabSuggestionEdits | None = None
    prescription: PrescriptionRequest | None = None


class DocumentListQuery(RequestModel):
    limit: int = Field(default=50, ge=1, le=200)
    before: AwareTimestamp | None = None


class DocumentProcessedEvent(BaseModel):
    """document:processed — the uploader and the patient's watching care team: text, summary and suggestions are ready (or it failed)."""

    document: DocumentOut


# ---- the timeline and search -------------------------------------------------------------------


class TimelineQuery(RequestModel):
    limit: int = Field(default=50, ge=1, le=200)
    before: AwareTimestamp | None = Field(default=None, description="the next_before of the previous page")
    before_id: ObjectIdStr | None = Field(default=None, description="the next_before_id of the previous page (entries at the same time)")
    kinds: Annotated[str, StringConstraints(pattern=r"^[a-z_]+(,[a-z_]+)*$", max_length=200)] | None = Field(
        default=None, description="comma-separated kinds to include (default: all)"
    )
    include_entered_in_error: bool = False


class TimelineItem(BaseModel):
    kind: TimelineKind
    id: str
    at: datetime
    title: str
    status: str
    data: dict[str, Any] = Field(description="the item itself: an EncounterOut, ProblemOut, AllergyOut, LabResultOut, DocumentOut, PrescriptionOut or AppointmentOut")


class VitalLatest(BaseModel):
    type: str
    unit: str
    value: float | None = None
    systolic: float | None = None
    diastolic: float | None = None
    taken_at: datetime


class RecordOut(BaseModel):
    patient_id: str
    patient_name: str
    items: list[TimelineItem]
    next_before: datetime | None = Field(description="pass as ?before= for the next page; null on the last")
    next_before_id: str | None = Field(default=None, description="pass as ?before_id= with before")
    vitals: list[VitalLatest] = Field(description="the newest reading of each type in the last 90 days")
    active_problems: list[ProblemOut]
    active_allergies: list[AllergyOut]


class SearchQuery(RequestModel):
    q: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    limit: int = Field(default=20, ge=1, le=50)


class SearchHit(BaseModel):
    kind: Literal["encounter", "problem", "allergy", "lab_result", "document"]
    id: str
    at: datetime
    title: str
    snippet: str
    score: float


class SearchOut(BaseModel):
    query: str
    terms: list[str] = Field(description="the words searched for, after dropping filler words")
    rephrased: str | None = Field(default=None, description="the LLM's rephrasing of the query, when one is configured")
    hits: list[SearchHit]


class EncounterEnvelope(BaseModel):
    encounter: EncounterOut


class ProblemEnvelope(BaseModel):
    problem: ProblemOut


class AllergyEnvelope(BaseModel):
    allergy: AllergyOut


class LabResultEnvelope(BaseModel):
    lab_result: LabResultOut


class DocumentEnvelope(BaseModel):
    document: DocumentOut


class DocumentListOut(BaseModel):
    documents: list[DocumentOut]
    next_before: datetime | None


class EnteredInErrorOut(BaseModel):
    kind: RecordKind
    id: str
    status: Literal["entered_in_error"]


class SuggestionDecisionOut(BaseModel):
    document: DocumentOut
    suggestion: SuggestionOut
    lab_result: LabResultOut | None = None
    prescription: dict[str, Any] | None = Field(default=None, description="a PrescriptionOut")
