"""Shaping readings and alerts for output (responses and events)."""

from __future__ import annotations

from engage.models.vitals import VitalAlert
from engage.models.vitals import VitalReading
from schemas.vitals import AlertOut
from schemas.vitals import ReadingOut


def reading_out(reading: VitalReading) -> ReadingOut:
    return ReadingOut.model_validate(reading)


def alert_out(alert: VitalAlert, patient_name: str) -> AlertOut:
    # The document's shape plus the patient's name (from the user, not stored on the alert).
    return AlertOut.model_validate({**alert.model_dump(), "patient_name": patient_name})
