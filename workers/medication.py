"""RQ jobs of medication reminders."""

from __future__ import annotations

from workers.runtime import run_job


def scan_medication() -> dict:
    """Schedule upcoming doses and their reminders, mark missed doses, escalate runs of misses."""
    from engage.actions.medication import do_scan_medication

    return run_job(do_scan_medication)
