"""The API documents: OpenAPI (/api/openapi.json), AsyncAPI (/api/asyncapi.json) and a reference page (/api/docs)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint
from quart import Response
from quart import current_app
from quart import send_from_directory

from engage.config import get_settings
from engage.lib.api_docs import asyncapi_document
from engage.lib.api_docs import openapi_document
from engage.views.pages import CONTENT_SECURITY_POLICY
from engage.views.pages import STATIC_DIR

blueprint = Blueprint("api_docs", __name__, url_prefix="/api")


def _cached(name: str, build: Any) -> dict[str, Any]:
    # The url_map and the tables are fixed once the app serves: build each document once.
    documents = current_app.extensions.setdefault("api_documents", {})
    if name not in documents:
        documents[name] = build()
    return documents[name]


@blueprint.get("/openapi.json")
async def openapi() -> dict[str, Any]:
    # Absolute URLs only from ENGAGE_PUBLIC_URL, never from the Host header; relative otherwise.
    return _cached("openapi", lambda: openapi_document(current_app, get_settings().public_url or "/"))


@blueprint.get("/asyncapi.json")
async def asyncapi() -> dict[str, Any]:
    def build() -> dict[str, Any]:
        public = urlsplit(get_settings().public_url or "")
        if public.netloc:
            return asyncapi_document(public.netloc, "wss" if public.scheme == "https" else "ws")
        return asyncapi_document()

    return _cached("asyncapi", build)


@blueprint.get("/docs")
async def docs() -> Response:
    response = await send_from_directory(STATIC_DIR, "api_docs.html")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
