"""Alerts: raising, re-raising, acknowledging, snoozing and clearing, and telling the doctors.

One active alert per patient and rule key (a unique "active_key" makes that race-safe).
A condition that persists updates its alert silently; a doctor sees it again only when it
escalates to a more severe level, or when its snooze after an acknowledgement has run out.

Delivery: the alert is pushed to the care team's sockets; when none of those doctors is online
(engage.lib.presence) it goes out as a notification instead. A web process that died a moment
ago still counts as alive for up to ALIVE_SECONDS, so an alert pushed to a doctor's socket on
another process is looked at again once such a process stopped counting: if it is still open
and none of the doctors is online, they are notified.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from engage import extensions
from engage.actions.audit import record_health_data_access
from engage.actions.notifications import cancel_notifications
from engage.actions.notifications import request_notification
from engage.actions.presence import local_user_ids
from engage.config import get_settings
from engage.errors import ApiError
from engage.errors import forbidden
from engage.errors import not_found
from engage.events import publish_event
from engage.events import user_room
from engage.events.vitals import ACKED
from engage.events.vitals import ALERT
from engage.events.vitals import CLEARED
from engage.events.vitals import vitals_room
from engage.lib.care import access_patient_data
from engage.lib.care import care_doctor_ids
from engage.lib.presence import ALIVE_SECONDS
from engage.lib.presence import online_user_ids
from engage.lib.vital_outputs import alert_out
from engage.lib.vital_rules import SEVERITY_RANK
from engage.lib.vital_rules import TREND_COUNT
from engage.lib.vital_rules import TREND_WINDOW_DAYS
from engage.lib.vital_rules import Finding
from engage.lib.vital_rules import bp_is_elevated
from engage.lib.vital_rules import evaluate_reading
from engage.lib.vital_rules import trend_finding
from engage.lib.users import access_user
from engage.models.base import utcnow
from engage.models.user import Role
from engage.models.user import User
from engage.models.vitals import PatientMonitoring
from engage.models.vitals import VitalAlert
from engage.models.vitals import VitalReading
from schemas.vitals import AlertAckedEvent
from schemas.vitals import AlertClearedEvent
from schemas.vitals import AlertEvent
from schemas.vitals import AlertOut

log = logging.getLogger(__name__)

ACTIVE_STATUSES = ["open", "acked"]
DELIVERY_CHECK_JOB = "workers.vitals.check_alert_delivery"
# By then the alive key of any process that was dead at delivery has expired.
DELIVERY_CHECK_SECONDS = ALIVE_SECONDS + 2
LAST_SEEN_GRANULARITY = timedelta(minutes=5)  # the no-data rule works in hours


def active_key(patient_id: Any, key: str) -> str:
    return f"{patient_id}:{key}"


async def _alert_rooms(patient_id: str) -> tuple[list[str], list[str]]:
    doctors = await care_doctor_ids(patient_id)
    return doctors, [vitals_room(patient_id)] + [user_room(d) for d in doctors]


async def _deliver(alert: VitalAlert, patient: User) -> None:
    """Push the alert to the patient's doctors and watchers; when no doctor is online, notify them."""
    doctors, rooms = await _alert_rooms(str(patient.id))
    await publish_event(ALERT, AlertEvent(alert=alert_out(alert, patient.name)), rooms)
    if not doctors:
        return
    online = await online_user_ids(doctors)
    if online:
        if not local_user_ids(online):
            # The push may have gone to a socket of a process that has just died: look again later.
            # (A socket on this process, which is alive, surely got it.)
            await asyncio.to_thread(_enqueue_delivery_check, str(alert.id), alert.deliveries)
        return
    await _notify_doctors(alert, patient, doctors)


def _enqueue_delivery_check(alert_id: str, deliveries: int) -> None:
    connection = extensions.sync_redis(get_settings())
    try:
        extensions.queue("notifications", connection).enqueue_in(
            timedelta(seconds=DELIVERY_CHECK_SECONDS), DELIVERY_CHECK_JOB, alert_id, deliveries,
            job_id=f"vitals-delivery-{alert_id}-{deliveries}", result_ttl=3600,
        )
    finally:
        connection.close()


async def do_check_alert_delivery(alert_id: str, deliveries: int) -> bool:
    """Notify the doctors of an alert still open since this delivery when none of them is online
    any more (the socket it was pushed to may have been on a dead process). True if notified."""
    alert = await VitalAlert.get(PydanticObjectId(alert_id))
    if alert is None or alert.status != "open" or alert.deliveries != deliveries:
        return False  # acknowledged, cleared or delivered again (which decides for itself)
    doctors = await care_doctor_ids(str(alert.patient_id))
    if not doctors or await online_user_ids(doctors):
        return False  # a doctor online now has it: the console reloads open alerts on reconnect
    try:
        patient = await access_user(str(alert.patient_id), Role.patient)
    except ApiError:
        return False
    await _notify_doctors(alert, patient, doctors)
    return True


async def _notify_doctors(alert: VitalAlert, patient: User, doctors: list[str]) -> None:
    if alert.key == "no_data":
        hours = int(alert.values.get("hours", 24))
        kind, context = "vitals_no_data", {"patient_name": patient.name, "days": max(1, math.ceil(hours / 24))}
    else:
        kind, context = "vitals_alert", {"patient_name": patient.name, "severity": alert.severity, "alert_id": str(alert.id)}
    for doctor_id in doctors:
        await request_notification(
            recipient_id=doctor_id,
            kind=kind,
            idempotency_key=f"vitals_alert:{alert.id}:{alert.deliveries}:{doctor_id}",
            context=context,
            critical=alert.severity == "critical",  # critical alerts bypass quiet hours
        )
    await VitalAlert.find_one(VitalAlert.id == alert.id).update({"$set": {"notified_offline": True}})


async def do_raise_alert(patient: User, finding: Finding, *, vital_type: str | None, reading: VitalReading | None,
                         values: dict[str, Any] | None = None, now: datetime | None = None) -> VitalAlert:
    """Open an alert for a finding, or update the active one (re-delivering on escalation or expired snooze)."""
    now = now or utcnow()
    key = active_key(patient.id, finding.key)
    reading_at = reading.taken_at if reading else None
    fields = {
        "rule": finding.rule,
        "severity": finding.severity,
        "message": finding.message,
        "reading_id": reading.id if reading else None,
        "values": values or {},
        "type": vital_type,
    }
    for _attempt in range(3):
        existing = await VitalAlert.find_one(VitalAlert.active_key == key)
        if existing is None:
            alert = VitalAlert(patient_id=patient.id, key=finding.key, status="open", active_key=key, opened_at=now,
                               last_triggered_at=now, last_reading_at=reading_at, **fields)
            try:
                await alert.insert()
            except DuplicateKeyError:
                continue  # a concurrent reading opened it first: update that one
            await _deliver(alert, patient)
            return alert

        escalates = SEVERITY_RANK[finding.severity] > SEVERITY_RANK[existing.severity]
        snooze_over = existing.status == "acked" and (existing.snoozed_until is None or existing.snoozed_until <= now)
        # Within a snooze only an escalation to critical breaks through.
        redeliver = snooze_over or (escalates and (existing.status == "open" or finding.severity == "critical"))
        update: dict[str, Any] = {"last_triggered_at": now}
        if reading_at and (existing.last_reading_at is None or reading_at > existing.last_reading_at):
            update["last_reading_at"] = reading_at
        if escalates or redeliver or finding.rule != existing.rule:
            update.update(fields)  # the alert describes the latest condition, even when nothing is pushed
        if redeliver:
            update.update({"status": "open", "acked_by": None, "acked_at": None, "snoozed_until": None})
        inc = {"trigger_count": 1, "deliveries": 1 if redeliver else 0}
        raw = await VitalAlert.get_pymongo_collection().find_one_and_update(
            {"_id": existing.id, "status": existing.status, "severity": existing.severity},
            {"$set": update, "$inc": inc},
            return_document=ReturnDocument.AFTER,
        )
        if raw is None:
            continue  # acknowledged, cleared or escalated meanwhile: decide again
        alert = VitalAlert.model_validate(raw)
        if redeliver:
            await _deliver(alert, patient)
        return alert
    raise ApiError(503, "busy", "The alert changed too often to update; try again.")


async def do_clear_alert(patient: User, key: str, reading: VitalReading | None, now: datetime | None = None) -> VitalAlert | None:
    """Clear the active alert for this key (readings are back in range) and tell the watchers."""
    now = now or utcnow()
    existing = await VitalAlert.find_one(VitalAlert.active_key == active_key(patient.id, key))
    if existing is None:
        return None
    if reading is not None and existing.last_reading_at is not None and reading.taken_at < existing.last_reading_at:
        return None  # an older reading arriving late says nothing about now
    closed_key = f"{existing.active_key}:closed:{existing.id}"
    raw = await VitalAlert.get_pymongo_collection().find_one_and_update(
        {"_id": existing.id, "active_key": existing.active_key},
        {"$set": {"status": "cleared", "cleared_at": now, "active_key": closed_key}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        return None
    alert = VitalAlert.model_validate(raw)
    _doctors, rooms = await _alert_rooms(str(patient.id))
    await publish_event(CLEARED, AlertClearedEvent(alert=alert_out(alert, patient.name)), rooms)
    if alert.notified_offline:
        # A notification still waiting (quiet hours) about a condition that is over is noise.
        await cancel_notifications(f"vitals_alert:{alert.id}:")
    return alert


async def do_evaluate_readings(patient_id: PydanticObjectId, readings: list[VitalReading], now: datetime | None = None) -> None:
    """Run the alert rules over freshly stored readings, oldest first."""
    now = now or utcnow()
    monitoring = await PatientMonitoring.find_one(PatientMonitoring.patient_id == patient_id)
    newest = max(r.taken_at for r in readings)
    if monitoring is not None and monitoring.enrolled and (monitoring.last_reading_at is None or newest > monitoring.last_reading_at + LAST_SEEN_GRANULARITY):
        # The no-data scan reads this instead of sorting the patient's readings.
        await PatientMonitoring.get_pymongo_collection().update_one(
            {"_id": monitoring.id, "$or": [{"last_reading_at": None}, {"last_reading_at": {"$lt": newest}}]}, {"$set": {"last_reading_at": newest}}
        )
    window_start = now - timedelta(hours=get_settings().vitals_alert_window_hours)
    recent = sorted((r for r in readings if r.taken_at >= window_start), key=lambda r: r.taken_at)
    if not recent:
        return
    thresholds = monitoring.thresholds if monitoring else {}
    active = {a.key for a in await VitalAlert.find({"patient_id": patient_id, "status": {"$in": ACTIVE_STATUSES}}).to_list()}
    patient: User | None = None

    async def load_patient() -> User:
        nonlocal patient
        if patient is None:
            patient = await access_user(str(patient_id), Role.patient)
        return patient

    if "no_data" in active:
        await do_clear_alert(await load_patient(), "no_data", None, now)
        active.discard("no_data")
    for reading in recent:
        findings = evaluate_reading(reading.type, reading.value, reading.systolic, reading.diastolic, thresholds)
        if reading.type == "blood_pressure":
            findings["bp_trend"] = None
            if bp_is_elevated(reading.category):
                since = reading.taken_at - timedelta(days=TREND_WINDOW_DAYS)
                count = await VitalReading.find(
                    {"patient_id": patient_id, "type": "blood_pressure", "category": {"$ne": "normal"},
                     "taken_at": {"$gte": since, "$lte": reading.taken_at}}
                ).count()
                if count >= TREND_COUNT:
                    findings["bp_trend"] = trend_finding(count)
                else:
                    findings.pop("bp_trend")  # still elevated: not back in range, so nothing clears
        values = {k: v for k, v in (("value", reading.value), ("systolic", reading.systolic), ("diastolic", reading.diastolic)) if v is not None}
        for key, finding in findings.items():
            if finding is not None:
                await do_raise_alert(await load_patient(), finding, vital_type=reading.type, reading=reading, values=values, now=now)
                active.add(key)
            elif key in active:
                if await do_clear_alert(await load_patient(), key, reading, now) is not None:
                    active.discard(key)


async def do_scan_no_data(now: datetime | None = None) -> int:
    """Raise a no-data alert for each enrolled patient without a reading in their window; returns how many."""
    now = now or utcnow()
    raised = 0
    async for monitoring in PatientMonitoring.find(PatientMonitoring.enrolled == True):  # noqa: E712
        reference = max(filter(None, [monitoring.last_reading_at, monitoring.enrolled_at]), default=None)
        if reference is None or reference > now - timedelta(hours=monitoring.no_data_hours):
            continue
        try:
            patient = await access_user(str(monitoring.patient_id), Role.patient)
        except ApiError:
            continue
        finding = Finding("no_data", "no_data", "warning", f"No readings for more than {monitoring.no_data_hours} hours.")
        await do_raise_alert(patient, finding, vital_type=None, reading=None, values={"hours": monitoring.no_data_hours}, now=now)
        raised += 1
    return raised


async def check_ack_alert(user_id: str, role: str, alert_id: str, snooze_minutes: int | None) -> AlertOut:
    """A related doctor acknowledges an alert; it stays quiet for the snooze time."""
    if role != Role.doctor.value:
        raise forbidden("Only doctors acknowledge alerts.")
    alert = await VitalAlert.get(alert_id)
    if alert is None:
        raise not_found("Alert")
    patient = await access_patient_data(user_id, role, str(alert.patient_id))
    doctor = await access_user(user_id, Role.doctor)
    return await do_ack_alert(alert, patient, doctor, snooze_minutes or get_settings().vitals_snooze_minutes)


async def do_ack_alert(alert: VitalAlert, patient: User, doctor: User, snooze_minutes: int) -> AlertOut:
    """Acknowledge (once) and share the acknowledgement with every watcher and the patient's doctors."""
    now = utcnow()
    raw = await VitalAlert.get_pymongo_collection().find_one_and_update(
        {"_id": alert.id, "status": "open"},
        {"$set": {"status": "acked", "acked_by": doctor.id, "acked_at": now, "snoozed_until": now + timedelta(minutes=snooze_minutes)}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        current = await VitalAlert.get(alert.id)
        if current is not None and current.status == "acked":
            return alert_out(current, patient.name)  # already acknowledged (perhaps by a colleague)
        raise ApiError(409, "alert_cleared", "This alert has already cleared.")
    acked = VitalAlert.model_validate(raw)
    await record_health_data_access(str(doctor.id), doctor.role.value, str(patient.id), "vitals.alert_ack", f"vital_alert:{acked.id}")
    out = alert_out(acked, patient.name)
    _doctors, rooms = await _alert_rooms(str(patient.id))
    await publish_event(ACKED, AlertAckedEvent(alert=out, acked_by_name=doctor.name), rooms)
    return out
