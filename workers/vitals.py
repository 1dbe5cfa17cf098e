"""RQ jobs of the vitals capability."""

from __future__ import annotations

from workers.runtime import run_job


def scan_no_data() -> int:
    """Raise no-data alerts for enrolled patients without recent readings; returns how many."""
    from engage.actions.vital_alerts import do_scan_no_data

    return run_job(do_scan_no_data)
