"""RQ jobs of the vitals capability."""

from __future__ import annotations

from engage.actions.vital_alerts import do_check_alert_delivery
from engage.actions.vital_alerts import do_scan_no_data
from workers.runtime import run_job


def scan_no_data() -> int:
    """Raise no-data alerts for enrolled patients without recent readings; returns how many."""
    return run_job(do_scan_no_data)


def check_alert_delivery(alert_id: str, deliveries: int) -> bool:
    """Notify an open alert's doctors when none of them is online any more; True if notified."""
    return run_job(lambda: do_check_alert_delivery(alert_id, deliveries))
