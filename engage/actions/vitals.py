"""Ingesting readings (validate, de-duplicate, store in one batch, publish, alert), watching,
and a doctor's per-patient thresholds and monitoring enrolment."""

from __future__ import annotations

import asyncio
import bisect
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId
from pydantic import ValidationError

from engage import extensions
from engage.actions.audit import record_health_data_access
from engage.actions.vital_alerts import ACTIVE_STATUSES
from engage.actions.vital_alerts import do_evaluate_readings
from engage.errors import ApiError
from engage.errors import forbidden
from engage.events import publish_event
from engage.events import user_room
from engage.events.vitals import READING
from engage.events.vitals import vitals_room
from engage.lib.care import access_patient
from engage.lib.care import access_patient_data
from engage.lib.users import access_user
from engage.lib.validation import validation_error
from engage.lib.vital_outputs import alert_out
from engage.lib.vital_outputs import reading_out
from engage.lib.vitals import PLAUSIBLE
from engage.lib.vitals import CanonicalReading
from engage.lib.vitals import allowed_units
from engage.lib.vitals import bp_category
from engage.lib.vitals import check_reading
from engage.lib.vitals import normalise_unit
from engage.lib.vitals import to_canonical
from engage.models.base import utcnow
from engage.models.user import Role
from engage.models.user import User
from engage.models.vitals import GivenValue
from engage.models.vitals import PatientMonitoring
from engage.models.vitals import VitalAlert
from engage.models.vitals import VitalReading
from schemas.vitals import ItemError
from schemas.vitals import ItemResult
from schemas.vitals import MonitoringRequest
from schemas.vitals import ReadingEvent
from schemas.vitals import ReadingIn
from schemas.vitals import SubmitResult
from schemas.vitals import ThresholdsRequest

DEDUP_WINDOW = timedelta(seconds=2)
LOCK_TTL_MS = 20_000
LOCK_WAIT_SECONDS = 15.0

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@asynccontextmanager
async def patient_ingest_lock(patient_id: str) -> AsyncIterator[None]:
    """Serialise de-duplication and insert per patient, across web processes (a Redis lock)."""
    redis = extensions.redis_client()
    key = f"engage:vitals:ingest:{patient_id}"
    token = secrets.token_hex(8)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_SECONDS
    delay = 0.002
    while not await redis.set(key, token, nx=True, px=LOCK_TTL_MS):
        if loop.time() > deadline:
            raise ApiError(503, "busy", "Readings for this patient are being stored; try again.")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
    try:
        yield
    finally:
        await redis.eval(_RELEASE, 1, key, token)


def _item_error(exc: ApiError) -> ItemError:
    return ItemError(code=exc.code, message=exc.message, field=exc.field, details=exc.details)


def parse_reading_item(item: Any, now: datetime) -> tuple[CanonicalReading | None, ItemError | None]:
    """One submitted item: its canonical reading, or the error that refuses it."""
    if not isinstance(item, dict):
        return None, ItemError(code="validation_error", message="Each reading must be a JSON object.", field="body")
    try:
        parsed = ReadingIn.model_validate(item)
    except ValidationError as exc:
        return None, _item_error(validation_error(exc))
    canonical, errors = check_reading(parsed, now)
    if errors:
        first = errors[0]
        return None, ItemError(code="implausible_reading", message=f"{first['field']}: {first['message']}", field=first["field"], details=errors)
    return canonical, None


async def check_submit_readings(user_id: str, role: str, items: list[Any]) -> SubmitResult:
    """A patient submits readings: each is validated on its own; the valid ones are stored."""
    if role != Role.patient.value:
        raise forbidden("Only patients submit vitals, for themselves.")
    # The token (or socket session) already proved a patient; the user document is loaded only
    # if an alert needs their name (one query less per reading on the hot path).
    patient_id = PydanticObjectId(user_id)
    now = utcnow()
    results: dict[int, ItemResult] = {}
    valid: list[tuple[int, CanonicalReading]] = []
    for index, item in enumerate(items):
        canonical, error = parse_reading_item(item, now)
        if error is not None:
            results[index] = ItemResult(index=index, status="invalid", error=error)
        else:
            valid.append((index, canonical))
    if valid:
        for index, status, reading_id in await do_store_readings(patient_id, valid):
            results[index] = ItemResult(index=index, status=status, id=reading_id)
    ordered = [results[i] for i in range(len(items))]
    return SubmitResult(
        results=ordered,
        created=sum(r.status == "created" for r in ordered),
        duplicates=sum(r.status == "duplicate" for r in ordered),
        invalid=sum(r.status == "invalid" for r in ordered),
    )


def _new_reading(patient_id: PydanticObjectId, c: CanonicalReading) -> VitalReading:
    return VitalReading(
        id=PydanticObjectId(),
        patient_id=patient_id,
        type=c.type,
        unit=c.unit,
        value=c.value,
        systolic=c.systolic,
        diastolic=c.diastolic,
        category=bp_category(c.systolic, c.diastolic) if c.type == "blood_pressure" else None,
        given=GivenValue(unit=c.given_unit, value=c.given_value, systolic=c.given_systolic, diastolic=c.given_diastolic),
        taken_at=c.taken_at,
        source=c.source,
        note=c.note,
    )


async def do_store_readings(patient_id: PydanticObjectId, readings: list[tuple[int, CanonicalReading]]) -> list[tuple[int, str, str]]:
    """De-duplicate (same type within 2 s, against stored readings and within the batch), insert in
    one write, then publish each new reading and run the alert rules. Returns (index, status, id)."""
    out: list[tuple[int, str, str]] = []
    new: list[VitalReading] = []
    async with patient_ingest_lock(str(patient_id)):
        seen: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        collection = VitalReading.get_pymongo_collection()
        for vital_type in sorted({c.type for _, c in readings}):
            times = [c.taken_at for _, c in readings if c.type == vital_type]
            # One equality query per type: secantus plans {type: {$in: [...]}} as a scan (measured 78 ms vs 1 ms).
            cursor = collection.find(
                {"patient_id": patient_id, "type": vital_type, "taken_at": {"$gte": min(times) - DEDUP_WINDOW, "$lte": max(times) + DEDUP_WINDOW}},
                projection={"taken_at": 1},
            )
            async for doc in cursor:
                seen[vital_type].append((doc["taken_at"], str(doc["_id"])))
            seen[vital_type].sort()
        for index, canonical in readings:
            times = seen[canonical.type]
            at = bisect.bisect_left(times, (canonical.taken_at - DEDUP_WINDOW, ""))
            if at < len(times) and times[at][0] <= canonical.taken_at + DEDUP_WINDOW:
                out.append((index, "duplicate", times[at][1]))
                continue
            reading = _new_reading(patient_id, canonical)
            new.append(reading)
            bisect.insort(times, (canonical.taken_at, str(reading.id)))
            out.append((index, "created", str(reading.id)))
        if new:
            # secantus (and Mongo) are far faster per document in one insert_many.
            await VitalReading.insert_many(new)
    rooms = [vitals_room(str(patient_id)), user_room(str(patient_id))]
    for reading in new:
        await publish_event(READING, ReadingEvent(reading=reading_out(reading)), rooms)
    if new:
        await do_evaluate_readings(patient_id, new)
    return out


WATCH_AUDIT_WINDOW_SECONDS = 300


async def check_watch_patient(user_id: str, role: str, patient_id: str) -> dict[str, Any]:
    """May this user watch the patient's live vitals? Returns the open alerts and latest readings."""
    if role == Role.admin.value:
        raise forbidden("Only the patient and their doctors can watch these vitals.")
    access = await access_patient(user_id, role, patient_id)
    patient = access.patient
    # Watching again within the window (a reconnect, another tab, a client in a loop) is the
    # same access: one audit entry, not one per call. SET NX picks one caller on any process.
    # A watch that rests on emergency access is a new access, logged with its flag and reason.
    dedupe_key = f"engage:audit:vitals-watch:{user_id}:{patient_id}:{'emergency' if access.emergency else 'care'}"
    if await extensions.redis_client().set(dedupe_key, 1, ex=WATCH_AUDIT_WINDOW_SECONDS, nx=True):
        await record_health_data_access(user_id, role, patient_id, "vitals.watch", "vitals")
    alerts = await VitalAlert.find({"patient_id": patient.id, "status": {"$in": ACTIVE_STATUSES}}).sort(-VitalAlert.opened_at).to_list()
    # A bounded window: secantus sorts every match before applying a limit.
    since = utcnow() - timedelta(days=2)
    latest = await VitalReading.find({"patient_id": patient.id, "taken_at": {"$gte": since}}).sort(-VitalReading.taken_at).limit(50).to_list()
    return {
        "patient_id": patient_id,
        "patient_name": patient.name,
        "alerts": [alert_out(a, patient.name).model_dump(mode="json") for a in alerts],
        "readings": [reading_out(r).model_dump(mode="json") for r in reversed(latest)],
    }


THRESHOLD_FIELDS = {
    "blood_pressure": {"systolic_high": "systolic", "systolic_low": "systolic", "diastolic_high": "diastolic", "diastolic_low": "diastolic"},
}


def canonical_thresholds(request: ThresholdsRequest) -> dict[str, dict[str, float]]:
    """Thresholds in canonical units, each limit checked against the plausible range."""
    out: dict[str, dict[str, float]] = {}
    for vital_type in ("blood_pressure", "heart_rate", "glucose", "weight", "spo2", "temperature"):
        given = getattr(request, vital_type)
        if given is None:
            continue
        limits: dict[str, float] = {}
        if vital_type == "blood_pressure":
            for name, part in THRESHOLD_FIELDS["blood_pressure"].items():
                value = getattr(given, name)
                if value is None:
                    continue
                low, high = PLAUSIBLE[part]
                if not low <= value <= high:
                    raise ApiError(422, "invalid_threshold", f"blood_pressure.{name}: must be between {low:g} and {high:g} mmHg.", field=f"blood_pressure.{name}")
                limits[name] = float(value)
        else:
            unit = normalise_unit(vital_type, given.unit)
            if unit is None:
                raise ApiError(422, "invalid_threshold", f"{vital_type}.unit: use one of {', '.join(allowed_units(vital_type))}.", field=f"{vital_type}.unit")
            for name in ("low", "high"):
                value = getattr(given, name)
                if value is None:
                    continue
                canonical = round(to_canonical(vital_type, float(value), unit), 2)
                low, high = PLAUSIBLE[vital_type]
                if not low <= canonical <= high:
                    raise ApiError(422, "invalid_threshold", f"{vital_type}.{name}: {value:g} {unit} is not a plausible limit.", field=f"{vital_type}.{name}")
                limits[name] = canonical
        out[vital_type] = limits
    return out


async def _doctor_for(user_id: str, role: str, patient_id: str, action: str) -> tuple[User, User]:
    if role != Role.doctor.value:
        raise forbidden("Only the patient's doctors can change this.")
    patient = await access_patient_data(user_id, role, patient_id)
    doctor = await access_user(user_id, Role.doctor)
    await record_health_data_access(user_id, role, patient_id, action, "vitals")
    return doctor, patient


async def _upsert_monitoring(patient_id: PydanticObjectId, fields: dict[str, Any]) -> PatientMonitoring:
    await PatientMonitoring.get_pymongo_collection().update_one({"patient_id": patient_id}, {"$set": fields}, upsert=True)
    return await PatientMonitoring.find_one(PatientMonitoring.patient_id == patient_id)


async def check_set_thresholds(user_id: str, role: str, patient_id: str, request: ThresholdsRequest) -> PatientMonitoring:
    """A related doctor replaces the patient's alert thresholds."""
    thresholds = canonical_thresholds(request)
    doctor, patient = await _doctor_for(user_id, role, patient_id, "vitals.thresholds_update")
    return await _upsert_monitoring(patient.id, {"thresholds": thresholds, "thresholds_updated_by": doctor.id, "thresholds_updated_at": utcnow()})


async def check_set_monitoring(user_id: str, role: str, patient_id: str, request: MonitoringRequest) -> PatientMonitoring:
    """A related doctor enrols the patient in (or removes them from) the no-data rule."""
    doctor, patient = await _doctor_for(user_id, role, patient_id, "vitals.monitoring_update")
    fields: dict[str, Any] = {"enrolled": request.enrolled, "no_data_hours": request.no_data_hours}
    if request.enrolled:
        fields.update({"enrolled_by": doctor.id, "enrolled_at": utcnow()})
    return await _upsert_monitoring(patient.id, fields)


async def check_read_patient_data(user_id: str, role: str, patient_id: str, action: str, resource: str = "vitals") -> User:
    """Access check for reading a patient's health data, audited when it is someone else's."""
    patient = await access_patient_data(user_id, role, patient_id)
    await record_health_data_access(user_id, role, patient_id, action, resource)
    return patient
