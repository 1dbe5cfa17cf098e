"""Room names and event names of the vitals capability."""

from __future__ import annotations

READING = "vitals:reading"
ALERT = "vitals:alert"
ACKED = "vitals:acked"
CLEARED = "vitals:cleared"
ADVICE_READY = "advice:ready"
DOSE = "medication:dose"


def vitals_room(patient_id: str) -> str:
    """Sockets watching one patient's vitals (their doctors' live charts) join this room."""
    return f"vitals:{patient_id}"
