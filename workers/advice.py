"""RQ jobs of the advice queue."""

from __future__ import annotations

from workers.runtime import run_job


def generate_advice(advice_id: str) -> str:
    """Write one pending advice from the patient's last 30 days (safe to run twice)."""
    from engage.actions.advice import do_generate_advice

    return run_job(lambda: do_generate_advice(advice_id))
