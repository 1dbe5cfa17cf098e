"""The clinical record: visit notes (encounters), problems, allergies and lab results.

Nothing here is ever deleted: a wrong entry gets the status "entered_in_error" with who said so,
when and why, and leaves the timeline. A signed note never changes: an amendment pushes the
signed version into `history` and becomes the next version.
"""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import BaseModel
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
from pymongo import IndexModel

from engage.models.base import utcnow

ENTERED_IN_ERROR = "entered_in_error"


class ErrorMark(BaseModel):
    """Who marked an entry entered-in-error, when and why."""

    by: PydanticObjectId
    at: datetime
    reason: str


class Soap(BaseModel):
    subjective: str = ""
    objective: str = ""
    assessment: str = ""
    plan: str = ""


class NoteVersion(BaseModel):
    """A signed version of a note, kept when an amendment replaces it."""

    version: int
    soap: Soap
    signed_by: PydanticObjectId
    signed_at: datetime
    amendment_reason: str | None = None


class Encounter(Document):
    patient_id: PydanticObjectId
    author_id: PydanticObjectId
    author_name: str
    appointment_id: PydanticObjectId | None = None
    occurred_at: datetime
    status: str = "draft"  # draft | signed | entered_in_error
    version: int = 0  # 0 while a draft; 1 when signed; +1 per amendment
    soap: Soap = Field(default_factory=Soap)
    signed_by: PydanticObjectId | None = None
    signed_at: datetime | None = None
    amendment_reason: str | None = None  # why the current version replaced the previous one
    history: list[NoteVersion] = Field(default_factory=list)  # earlier signed versions, oldest first
    error: ErrorMark | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "encounters"
        indexes = [IndexModel([("patient_id", ASCENDING), ("occurred_at", DESCENDING)], name="patient_occurred")]


class Problem(Document):
    patient_id: PydanticObjectId
    condition: str
    icd10: str | None = None
    onset: str | None = None  # YYYY-MM-DD
    status: str = "active"  # active | resolved | entered_in_error
    recorded_by: PydanticObjectId
    recorded_at: datetime = Field(default_factory=utcnow)
    updated_by: PydanticObjectId | None = None
    updated_at: datetime | None = None
    error: ErrorMark | None = None

    class Settings:
        name = "problems"
        indexes = [IndexModel([("patient_id", ASCENDING), ("recorded_at", DESCENDING)], name="patient_recorded")]


class Allergy(Document):
    patient_id: PydanticObjectId
    substance: str
    reaction: str | None = None
    severity: str = "moderate"  # mild | moderate | severe
    status: str = "active"  # active | inactive | entered_in_error
    recorded_by: PydanticObjectId
    recorded_at: datetime = Field(default_factory=utcnow)
    updated_by: PydanticObjectId | None = None
    updated_at: datetime | None = None
    error: ErrorMark | None = None

    class Settings:
        name = "allergies"
        indexes = [IndexModel([("patient_id", ASCENDING), ("recorded_at", DESCENDING)], name="patient_recorded")]


class LabResult(Document):
    patient_id: PydanticObjectId
    test_name: str
    loinc: str | None = None
    value: float
    unit: str
    ref_low: float | None = None
    ref_high: float | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    flag: str = "normal"  # normal | low | high | critical_low | critical_high (engage.lib.records.lab_flag)
    taken_at: datetime
    status: str = "final"  # final | entered_in_error
    recorded_by: PydanticObjectId
    recorded_at: datetime = Field(default_factory=utcnow)
    document_id: PydanticObjectId | None = None  # confirmed from a document's suggestion
    alert_id: PydanticObjectId | None = None  # the alert a critical value raised
    error: ErrorMark | None = None

    class Settings:
        name = "lab_results"
        indexes = [IndexModel([("patient_id", ASCENDING), ("taken_at", DESCENDING)], name="patient_taken")]
