"""RQ jobs of medication reminders."""

from __future__ import annotations

from engage.actions.medication import do_scan_medication
from workers.runtime import run_job


def scan_medication() -> dict:
    """Schedule upcoming doses and their reminders, mark missed doses, escalate runs of misses."""
    return run_job(do_scan_medication)
