"""Assistant jobs: answering a patient's message in their conversation with the assistant."""

from __future__ import annotations

from engage.actions.assistant_replies import do_answer_patient_message
from workers.runtime import run_job


def answer_patient_message(conversation_id: str, seq: int) -> bool:
    """Answer one patient message (safe to run twice: the reply's client_id is derived from the seq)."""
    return run_job(lambda: do_answer_patient_message(conversation_id, seq))
