"""RQ jobs of the advice queue."""

from __future__ import annotations

from engage.actions.advice import do_generate_advice
from workers.runtime import run_job


def generate_advice(advice_id: str) -> str:
    """Write one pending advice from the patient's last 30 days (safe to run twice)."""
    return run_job(lambda: do_generate_advice(advice_id))
