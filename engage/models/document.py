"""Uploaded documents: the file lives in GridFS (bucket "document_files"), this is its record.

Every web process and worker reads the same bytes from MongoDB; the record holds what the
processing job found (text, summary) and the suggestions a doctor accepts or rejects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from beanie import PydanticObjectId
from pydantic import BaseModel
from pydantic import Field
from pymongo import ASCENDING
from pymongo import DESCENDING
from pymongo import IndexModel

from engage.models.base import utcnow
from engage.models.records import ErrorMark

DOCUMENT_BUCKET = "document_files"


class Suggestion(BaseModel):
    """A value the processing job read from the document; it enters the record only when a doctor accepts it."""

    id: str
    kind: str  # lab | medication
    fields: dict[str, Any]  # lab: test_name, value, unit, ref_low, ref_high, loinc; medication: drug, strength
    source_text: str  # the line it came from
    status: str = "pending"  # pending | accepted | rejected
    decided_by: PydanticObjectId | None = None
    decided_at: datetime | None = None
    created_id: str | None = None  # the lab result or prescription made on acceptance


class MedicalDocument(Document):
    patient_id: PydanticObjectId
    uploaded_by: PydanticObjectId
    uploader_role: str
    filename: str
    content_type: str  # sniffed from the bytes: application/pdf, image/png, image/jpeg
    size: int
    sha256: str
    file_id: PydanticObjectId  # the GridFS file
    pages: int = 1
    status: str = "processing"  # processing | processed | failed
    record_status: str = "current"  # current | entered_in_error
    text: str = ""
    text_method: str | None = None  # pdf_text | ocr | pdf_text+ocr
    summary: str | None = None
    summary_provider: str | None = None  # extractive | llm
    summary_fallback_reason: str | None = None
    suggestions: list[Suggestion] = Field(default_factory=list)
    failure: str | None = None
    uploaded_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = None
    error: ErrorMark | None = None

    class Settings:
        name = "documents"
        indexes = [IndexModel([("patient_id", ASCENDING), ("uploaded_at", DESCENDING)], name="patient_uploaded")]
