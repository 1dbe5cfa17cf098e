"""Shaping readings and alerts for output (responses and events)."""

from __future__ import annotations

from engage.models.vitals import VitalAlert
from engage.models.vitals import VitalReading
from schemas.vitals import AlertOut
from schemas.vitals import GivenOut
from schemas.vitals import ReadingOut


def reading_out(reading: VitalReading) -> ReadingOut:
    return ReadingOut(
        id=str(reading.id),
        patient_id=str(reading.patient_id),
        type=reading.type,
        unit=reading.unit,
        value=reading.value,
        systolic=reading.systolic,
        diastolic=reading.diastolic,
        category=reading.category,
        given=GivenOut(**reading.given.model_dump()),
        taken_at=reading.taken_at,
        source=reading.source,
        note=reading.note,
        created_at=reading.created_at,
    )


def alert_out(alert: VitalAlert, patient_name: str) -> AlertOut:
    return AlertOut(
        id=str(alert.id),
        patient_id=str(alert.patient_id),
        patient_name=patient_name,
        key=alert.key,
        rule=alert.rule,
        type=alert.type,
        severity=alert.severity,
        status=alert.status,
        message=alert.message,
        reading_id=str(alert.reading_id) if alert.reading_id else None,
        trigger_count=alert.trigger_count,
        opened_at=alert.opened_at,
        last_triggered_at=alert.last_triggered_at,
        acked_by=str(alert.acked_by) if alert.acked_by else None,
        acked_at=alert.acked_at,
        snoozed_until=alert.snoozed_until,
        cleared_at=alert.cleared_at,
    )
