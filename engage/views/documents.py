"""Documents over HTTP: upload (multipart), list, read, download (streamed), and the doctor's
decisions on the suggestions read from them."""

from __future__ import annotations

import re
from typing import Any

from quart import Blueprint
from quart import Response
from quart import request
from quart.wrappers import Request
from werkzeug.exceptions import RequestEntityTooLarge

from engage.actions.documents import check_decide_suggestion
from engage.actions.documents import check_list_documents
from engage.actions.documents import check_open_document
from engage.actions.documents import check_read_document
from engage.actions.documents import check_document_uploader
from engage.actions.documents import do_store_document
from engage.config import get_settings
from engage.errors import ApiError
from engage.lib.records import document_out
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.records import AcceptSuggestionRequest
from schemas.records import DocumentListQuery

blueprint = Blueprint("documents", __name__, url_prefix="/api")

UPLOAD_PATH = re.compile(r"^/api/patients/[^/]+/documents/?$")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file


def document_upload_request_class(document_max_bytes: int) -> type[Request]:
    """Quart's Request, with the upload route's body limit raised to a document's size (every other
    route keeps MAX_CONTENT_LENGTH). The limit must be known when the request is made: Quart
    starts receiving the body before any view runs."""

    class DocumentUploadRequest(Request):
        def __init__(self, method: str, scheme: str, path: str, *args: Any, max_content_length: int | None = None, **kwargs: Any) -> None:
            upload = method == "POST" and UPLOAD_PATH.match(path) is not None
            if upload:
                max_content_length = max(max_content_length or 0, document_max_bytes + MULTIPART_OVERHEAD)
            super().__init__(method, scheme, path, *args, max_content_length=max_content_length, **kwargs)
            if upload:
                self.max_content_length = max_content_length  # the multipart parser reads this one

    return DocumentUploadRequest


def _too_large() -> ApiError:
    limit = get_settings().document_max_bytes
    return ApiError(413, "document_too_large", f"A document may be at most {limit // (1024 * 1024)} MB.", field="file")


@blueprint.post("/patients/<patient_id>/documents")
async def upload_document(patient_id: str):
    user = current_user()
    patient = await check_document_uploader(user, patient_id)  # before reading a body of up to 10 MB
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise ApiError(415, "multipart_required", "Send the document as multipart/form-data, in a part named 'file'.", field="file")
    try:
        files = await request.files
    except RequestEntityTooLarge:
        raise _too_large() from None
    upload = files.get("file")
    if upload is None:
        raise ApiError(422, "validation_error", "file: a part named 'file' is required.", field="file")
    data = upload.read(get_settings().document_max_bytes + 1)
    document = await do_store_document(user, patient, upload.filename, data)
    return {"document": document_out(document).model_dump(mode="json")}, 201


@blueprint.get("/patients/<patient_id>/documents")
async def list_documents(patient_id: str):
    user = current_user()
    query = read_query(DocumentListQuery)
    documents, next_before = await check_list_documents(str(user.id), user.role.value, patient_id, query.limit, query.before)
    return {"documents": [document_out(d, with_text=False).model_dump(mode="json") for d in documents],
            "next_before": next_before.isoformat() if next_before else None}


@blueprint.get("/documents/<document_id>")
async def download_document(document_id: str):
    user = current_user()
    document, chunks = await check_open_document(str(user.id), user.role.value, document_id)
    headers = {
        "Content-Disposition": f'attachment; filename="{document.filename}"',
        "Content-Length": str(document.size),
        "Cache-Control": "no-store",
    }
    return Response(chunks, status=200, mimetype=document.content_type, headers=headers)


@blueprint.get("/documents/<document_id>/details")
async def read_document(document_id: str):
    user = current_user()
    document = await check_read_document(str(user.id), user.role.value, document_id)
    return {"document": document_out(document).model_dump(mode="json")}


@blueprint.post("/patients/<patient_id>/documents/<document_id>/suggestions/<suggestion_id>/accept")
async def accept_suggestion(patient_id: str, document_id: str, suggestion_id: str):
    user = current_user()
    body = await read_json(AcceptSuggestionRequest) if await request.get_data(cache=True) else None
    decision = await check_decide_suggestion(str(user.id), user.role.value, patient_id, document_id, suggestion_id, True, body)
    return decision.model_dump(mode="json")


@blueprint.post("/patients/<patient_id>/documents/<document_id>/suggestions/<suggestion_id>/reject")
async def reject_suggestion(patient_id: str, document_id: str, suggestion_id: str):
    user = current_user()
    decision = await check_decide_suggestion(str(user.id), user.role.value, patient_id, document_id, suggestion_id, False, None)
    return decision.model_dump(mode="json")
