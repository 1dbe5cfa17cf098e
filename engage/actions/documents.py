"""Documents: upload (checked from the bytes, stored in GridFS), download, the processing job
(text, suggestions, summary, document:processed) and a doctor's decision on each suggestion.

An upload is stored whole or not at all: the GridFS file is written first, then its record, and
the file is removed again when the record or the job cannot be stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

from beanie import PydanticObjectId
from bson import ObjectId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import ReturnDocument

from engage import extensions
from engage.actions.audit import record_health_data_access
from engage.actions.medication import check_prescribe
from engage.actions.medication import prescription_out
from engage.actions.records import access_record_writer
from engage.actions.records import do_record_lab_result
from engage.config import get_settings
from engage.errors import ApiError
from engage.errors import not_found
from engage.events import publish_event
from engage.events import user_room
from engage.events.vitals import vitals_room
from engage.integrations.llm import LLMError
from engage.integrations.llm import summarise_document
from engage.lib.care import access_patient_data
from engage.lib.document_text import DocumentRejected
from engage.lib.document_text import check_document
from engage.lib.document_text import extract_suggestions
from engage.lib.document_text import extract_text
from engage.lib.document_text import extractive_summary
from engage.lib.document_text import redact
from engage.lib.document_text import sniff_content_type
from engage.lib.records import document_out
from engage.lib.records import lab_result_out
from engage.lib.validation import parse_model
from engage.models.base import utcnow
from engage.models.document import DOCUMENT_BUCKET
from engage.models.document import MedicalDocument
from engage.models.document import Suggestion
from engage.models.records import ENTERED_IN_ERROR
from engage.models.user import User
from schemas.records import AcceptSuggestionRequest
from schemas.records import DocumentProcessedEvent
from schemas.records import LabResultRequest
from schemas.records import SuggestionDecisionOut

log = logging.getLogger(__name__)

DOCUMENT_JOB = "workers.documents.process_document"
DOCUMENT_PROCESSED = "document:processed"
LLM_TEXT_CHARS = 6000  # what of a document's (redacted) text goes to the LLM


def document_bucket() -> AsyncGridFSBucket:
    return AsyncGridFSBucket(MedicalDocument.get_pymongo_collection().database, bucket_name=DOCUMENT_BUCKET)


def safe_filename(name: str | None, content_type: str) -> str:
    """A name fit for a Content-Disposition header: letters, digits, dot, dash, underscore; the sniffed extension."""
    # Some clients percent-encode the name (RFC 7578); any path part is dropped.
    base = unquote(name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")[:80]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}[content_type]
    return f"{stem or 'document'}.{extension}"


def _enqueue(document_id: str) -> None:
    settings = get_settings()
    queue = extensions.queue("default", extensions.sync_redis(settings))
    queue.enqueue(DOCUMENT_JOB, document_id, job_id=f"document-{document_id}", job_timeout=settings.document_job_timeout_seconds)


async def check_document_uploader(user: User, patient_id: str) -> User:
    """The patient a document is uploaded for: the patient themselves or a related doctor (audited)."""
    patient = await access_patient_data(str(user.id), user.role.value, patient_id)
    await record_health_data_access(str(user.id), user.role.value, patient_id, "record.document_upload", "record")
    return patient


async def do_store_document(user: User, patient: User, filename: str | None, data: bytes) -> MedicalDocument:
    """Check an upload (PDF, PNG or JPEG, read from its bytes), store it in GridFS and queue its processing."""
    role = user.role.value
    limit = get_settings().document_max_bytes
    if not data:
        raise ApiError(422, "empty_document", "The file is empty.", field="file")
    if len(data) > limit:
        raise ApiError(413, "document_too_large", f"A document may be at most {limit // (1024 * 1024)} MB.", field="file")
    content_type = sniff_content_type(data)
    if content_type is None:
        raise ApiError(415, "unsupported_type", "Upload a PDF, PNG or JPEG (the type is read from the file itself).", field="file")
    try:
        pages = await asyncio.to_thread(check_document, data, content_type)
    except DocumentRejected as exc:
        raise ApiError(exc.status, exc.code, exc.message, field="file") from None
    name = safe_filename(filename, content_type)
    bucket = document_bucket()
    file_id = await bucket.upload_from_stream(name, data, metadata={"patient_id": patient.id, "content_type": content_type})
    document = MedicalDocument(
        patient_id=patient.id, uploaded_by=user.id, uploader_role=role, filename=name, content_type=content_type, size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), file_id=file_id, pages=pages,
    )
    try:
        await document.insert()
        await asyncio.to_thread(_enqueue, str(document.id))
    except BaseException:
        # Nothing half-stored: without its record or its job the file goes too.
        if document.id is not None:
            await MedicalDocument.get_pymongo_collection().delete_one({"_id": document.id})
        await bucket.delete(file_id)
        raise
    return document


async def _readable_document(user_id: str, role: str, document_id: str, action: str) -> MedicalDocument:
    document = await MedicalDocument.get(PydanticObjectId(document_id)) if ObjectId.is_valid(document_id) else None
    if document is None:
        raise not_found("Document")
    try:
        await access_patient_data(user_id, role, str(document.patient_id))
    except ApiError as exc:
        raise not_found("Document") from exc  # the same answer as for an id that does not exist
    await record_health_data_access(user_id, role, str(document.patient_id), action, "record")
    return document


async def check_open_document(user_id: str, role: str, document_id: str) -> tuple[MedicalDocument, AsyncIterator[bytes]]:
    """The document and its bytes as a stream of GridFS chunks (audited)."""
    document = await _readable_document(user_id, role, document_id, "record.document_download")
    try:
        stream = await document_bucket().open_download_stream(document.file_id)
    except NoFile:
        raise not_found("Document") from None

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := await stream.readchunk():
                yield chunk
        finally:
            await stream.close()

    return document, chunks()


async def check_read_document(user_id: str, role: str, document_id: str) -> MedicalDocument:
    return await _readable_document(user_id, role, document_id, "record.document_read")


async def check_list_documents(user_id: str, role: str, patient_id: str, limit: int, before: Any) -> tuple[list[MedicalDocument], Any]:
    patient = await access_patient_data(user_id, role, patient_id)
    await record_health_data_access(user_id, role, patient_id, "record.documents_read", "record")
    filters: dict[str, Any] = {"patient_id": patient.id, "record_status": {"$ne": ENTERED_IN_ERROR}}
    if before is not None:
        filters["uploaded_at"] = {"$lt": before}
    rows = await MedicalDocument.find(filters).sort(-MedicalDocument.uploaded_at).limit(limit + 1).to_list()
    return rows[:limit], rows[limit - 1].uploaded_at if len(rows) > limit else None


# ---- the processing job ------------------------------------------------------------------------


async def _read_file(document: MedicalDocument) -> bytes:
    stream = await document_bucket().open_download_stream(document.file_id)
    try:
        return await stream.read()
    finally:
        await stream.close()


async def _summary(text: str, suggestions: list[dict[str, Any]], names: list[str]) -> tuple[str, str, str | None]:
    """(summary, provider, fallback reason): the LLM's when configured and it answers, else the extractive one."""
    settings = get_settings()
    if settings.llm_configured and text.strip():
        try:
            summary = await summarise_document(settings.llm_base_url, settings.llm_api_key, settings.llm_model, settings.llm_timeout_seconds,
                                               redact(text, names)[:LLM_TEXT_CHARS])
            return summary, "llm", None
        except LLMError as exc:
            log.warning("document summary: LLM failed (%s); using the extractive summary", exc)
            return extractive_summary(text, suggestions), "extractive", f"llm_failed: {exc}"
    return extractive_summary(text, suggestions), "extractive", None


async def do_process_document(document_id: str) -> str:
    """Job body: text (PDF text or OCR), suggestions and a summary, stored; document:processed to the uploader and watchers."""
    document = await MedicalDocument.get(PydanticObjectId(document_id))
    if document is None or document.status != "processing":
        return "skipped"  # ran before (RQ retried it)
    update: dict[str, Any]
    try:
        data = await _read_file(document)
        extracted = await asyncio.to_thread(extract_text, data, document.content_type)
        found = extract_suggestions(extracted.text)
        names = [u.name for u in await User.find({"_id": {"$in": [document.patient_id, document.uploaded_by]}}).to_list()]
        summary, provider, reason = await _summary(extracted.text, found, names)
        suggestions = [Suggestion(id=uuid.uuid4().hex[:12], **s).model_dump() for s in found]
        update = {"status": "processed", "text": extracted.text, "text_method": extracted.method, "pages": extracted.pages, "summary": summary,
                  "summary_provider": provider, "summary_fallback_reason": reason, "suggestions": suggestions, "processed_at": utcnow()}
    except Exception as exc:  # a file the upload checks let through but the extraction cannot read
        log.exception("document %s could not be processed", document_id)
        update = {"status": "failed", "failure": f"{exc.__class__.__name__}: {str(exc)[:200]}", "processed_at": utcnow()}
    raw = await MedicalDocument.get_pymongo_collection().find_one_and_update(
        {"_id": document.id, "status": "processing"}, {"$set": update}, return_document=ReturnDocument.AFTER
    )
    if raw is None:
        return "skipped"
    processed = MedicalDocument.model_validate(raw)
    rooms = [user_room(str(processed.uploaded_by)), vitals_room(str(processed.patient_id))]
    await publish_event(DOCUMENT_PROCESSED, DocumentProcessedEvent(document=document_out(processed)), rooms)
    return processed.status


# ---- suggestions -------------------------------------------------------------------------------


async def check_decide_suggestion(user_id: str, role: str, patient_id: str, document_id: str, suggestion_id: str, accept: bool,
                                  request: AcceptSuggestionRequest | None) -> SuggestionDecisionOut:
    """A related doctor accepts (into the record) or rejects one suggestion; nothing enters the record unconfirmed."""
    doctor, patient = await access_record_writer(user_id, role, patient_id, "record.suggestion_decide")
    document = await MedicalDocument.find_one({"_id": PydanticObjectId(document_id) if ObjectId.is_valid(document_id) else None, "patient_id": patient.id})
    suggestion = next((s for s in document.suggestions if s.id == suggestion_id), None) if document else None
    if document is None or suggestion is None:
        raise not_found("Suggestion")
    if suggestion.status != "pending":
        raise ApiError(409, "already_decided", f"The suggestion was already {suggestion.status}.")
    lab_request = None
    if accept and suggestion.kind == "lab":
        edits = request.lab.model_dump(exclude_none=True, mode="json") if request and request.lab else {}
        fields = {k: v for k, v in suggestion.fields.items() if v is not None} | edits
        lab_request = parse_model(LabResultRequest, fields)  # a suggestion without a unit needs one from the doctor (422)
    if accept and suggestion.kind == "medication" and (request is None or request.prescription is None):
        raise ApiError(422, "validation_error", "prescription: accepting a medication prescribes it; give its dose and times.", field="prescription")
    now = utcnow()
    raw = await MedicalDocument.get_pymongo_collection().find_one_and_update(
        {"_id": document.id, "suggestions": {"$elemMatch": {"id": suggestion_id, "status": "pending"}}},
        {"$set": {"suggestions.$[s].status": "accepted" if accept else "rejected", "suggestions.$[s].decided_by": doctor.id, "suggestions.$[s].decided_at": now}},
        array_filters=[{"s.id": suggestion_id}],  # array filters, not "$": the embedded server has no positional operator
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        raise ApiError(409, "already_decided", "The suggestion was decided meanwhile.")
    lab_result, prescription, created_id = None, None, None
    if lab_request is not None:
        result = await do_record_lab_result(patient, doctor, lab_request, document_id=document.id, taken_at=document.uploaded_at)
        lab_result, created_id = lab_result_out(result), str(result.id)
    elif accept and request is not None and request.prescription is not None:
        made = await check_prescribe(user_id, role, patient_id, request.prescription)
        prescription, created_id = prescription_out(made).model_dump(mode="json"), str(made.id)
    if created_id:
        raw = await MedicalDocument.get_pymongo_collection().find_one_and_update(
            {"_id": document.id}, {"$set": {"suggestions.$[s].created_id": created_id}}, array_filters=[{"s.id": suggestion_id}],
            return_document=ReturnDocument.AFTER,
        )
    decided = MedicalDocument.model_validate(raw)
    out = document_out(decided)
    return SuggestionDecisionOut(document=out, suggestion=next(s for s in out.suggestions if s.id == suggestion_id), lab_result=lab_result,
                                 prescription=prescription)
