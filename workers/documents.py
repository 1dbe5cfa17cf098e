"""RQ jobs for uploaded documents."""

from __future__ import annotations

from engage.actions.documents import do_process_document
from workers.runtime import run_job


def process_document(document_id: str) -> str:
    """Read one uploaded document's text, suggestions and summary (safe to run twice)."""
    return run_job(lambda: do_process_document(document_id))
