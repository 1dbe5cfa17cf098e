"""Vitals over HTTP: ingest, trends, readings, alerts, thresholds and monitoring."""

from __future__ import annotations

from quart import Blueprint
from quart import current_app
from quart import request

from engage.actions.vital_alerts import check_ack_alert
from engage.actions.vitals import check_read_patient_data
from engage.actions.vitals import check_set_monitoring
from engage.actions.vitals import check_set_thresholds
from engage.actions.vitals import check_submit_readings
from engage.errors import ApiError
from engage.lib.validation import parse_json_bytes
from engage.lib.validation import parse_model
from engage.lib.vital_outputs import alert_out
from engage.lib.vital_outputs import reading_out
from engage.lib.vital_trends import recent_readings
from engage.lib.vital_trends import vital_trends
from engage.models.vitals import PatientMonitoring
from engage.models.vitals import VitalAlert
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.vitals import MAX_BATCH
from schemas.vitals import AckRequest
from schemas.vitals import AlertsQuery
from schemas.vitals import MonitoringRequest
from schemas.vitals import ReadingsQuery
from schemas.vitals import ThresholdsRequest
from schemas.vitals import TrendQuery

blueprint = Blueprint("vitals", __name__)


async def _read_body() -> object:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
    raw = await request.get_data(cache=True, as_text=False)
    if not raw:
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return parse_json_bytes(raw)


@blueprint.post("/api/vitals")
async def submit_vitals():
    """One reading (a JSON object) or a batch: {"readings": [...]} of up to 500."""
    body = await _read_body()
    user = current_user()
    if isinstance(body, dict) and "readings" in body:
        items = body["readings"]
        if set(body) != {"readings"}:
            raise ApiError(422, "validation_error", "A batch has only the field 'readings'.", field="body")
        if not isinstance(items, list) or not items:
            raise ApiError(422, "validation_error", "readings must be a non-empty list.", field="readings")
        if len(items) > MAX_BATCH:
            raise ApiError(422, "batch_too_large", f"A batch holds at most {MAX_BATCH} readings; this one has {len(items)}.", field="readings")
        result = await check_submit_readings(str(user.id), user.role.value, items)
        return result.model_dump(mode="json"), 200
    if not isinstance(body, dict):
        raise ApiError(422, "validation_error", "Send one reading object or {\"readings\": [...]}.", field="body")
    result = await check_submit_readings(str(user.id), user.role.value, [body])
    item = result.results[0]
    if item.status == "invalid":
        err = item.error
        raise ApiError(422, err.code, err.message, field=err.field, details=err.details)
    return {"status": item.status, "id": item.id}, 201 if item.status == "created" else 200


@blueprint.get("/api/patients/<patient_id>/vitals")
async def patient_trends(patient_id: str):
    query = read_query(TrendQuery)
    user = current_user()
    patient = await check_read_patient_data(str(user.id), user.role.value, patient_id, "vitals.trends")
    trend = await vital_trends(patient, query.type, query.from_, query.to, query.bucket)
    return trend.model_dump(mode="json", by_alias=True)


@blueprint.get("/api/patients/<patient_id>/vitals/readings")
async def patient_readings(patient_id: str):
    query = read_query(ReadingsQuery)
    user = current_user()
    patient = await check_read_patient_data(str(user.id), user.role.value, patient_id, "vitals.read")
    rows = await recent_readings(patient, query.type, query.from_, query.to, query.limit)
    return {"readings": [reading_out(r).model_dump(mode="json") for r in rows]}


@blueprint.get("/api/patients/<patient_id>/alerts")
async def patient_alerts(patient_id: str):
    query = read_query(AlertsQuery)
    user = current_user()
    patient = await check_read_patient_data(str(user.id), user.role.value, patient_id, "vitals.alerts_read")
    statuses = {"active": ["open", "acked"], "all": ["open", "acked", "cleared"]}.get(query.status, [query.status])
    rows = await VitalAlert.find({"patient_id": patient.id, "status": {"$in": statuses}}).sort(-VitalAlert.opened_at).limit(query.limit).to_list()
    return {"alerts": [alert_out(a, patient.name).model_dump(mode="json") for a in rows]}


@blueprint.post("/api/alerts/<alert_id>/ack")
async def ack_alert(alert_id: str):
    raw = await request.get_data(cache=True, as_text=False)
    body = parse_json_bytes(raw) if raw else {}
    ack = parse_model(AckRequest, {**(body if isinstance(body, dict) else {}), "alert_id": alert_id})
    user = current_user()
    alert = await check_ack_alert(str(user.id), user.role.value, ack.alert_id, ack.snooze_minutes)
    return {"alert": alert.model_dump(mode="json")}


def _monitoring_out(m: PatientMonitoring | None, patient_id: str) -> dict:
    if m is None:
        return {"patient_id": patient_id, "thresholds": {}, "enrolled": False, "no_data_hours": None}
    return {
        "patient_id": patient_id,
        "thresholds": m.thresholds,
        "thresholds_updated_at": m.thresholds_updated_at.isoformat() if m.thresholds_updated_at else None,
        "enrolled": m.enrolled,
        "no_data_hours": m.no_data_hours,
    }


@blueprint.get("/api/patients/<patient_id>/thresholds")
async def get_thresholds(patient_id: str):
    user = current_user()
    patient = await check_read_patient_data(str(user.id), user.role.value, patient_id, "vitals.thresholds_read")
    return _monitoring_out(await PatientMonitoring.find_one(PatientMonitoring.patient_id == patient.id), patient_id)


@blueprint.put("/api/patients/<patient_id>/thresholds")
async def put_thresholds(patient_id: str):
    body = await read_json(ThresholdsRequest)
    user = current_user()
    monitoring = await check_set_thresholds(str(user.id), user.role.value, patient_id, body)
    return _monitoring_out(monitoring, patient_id)


@blueprint.put("/api/patients/<patient_id>/monitoring")
async def put_monitoring(patient_id: str):
    body = await read_json(MonitoringRequest)
    user = current_user()
    monitoring = await check_set_monitoring(str(user.id), user.role.value, patient_id, body)
    return _monitoring_out(monitoring, patient_id)
