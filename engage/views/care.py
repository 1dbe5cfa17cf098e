"""Care relations over HTTP: the patient's care team and access log, emergency access, and the
admins' relations and audit log."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.care import audit_filters
from engage.actions.care import audit_page
from engage.actions.care import care_team_out
from engage.actions.care import check_assign_relation
from engage.actions.care import check_emergency_access
from engage.actions.care import check_end_relation
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.care import AccessLogQuery
from schemas.care import AssignRelationRequest
from schemas.care import AuditQuery
from schemas.care import EmergencyAccessRequest
from schemas.care import EndRelationRequest

blueprint = Blueprint("care", __name__, url_prefix="/api")


@blueprint.get("/me/care-team")
async def my_care_team():
    team = await care_team_out(str(current_user().id))
    return {"care_team": [r.model_dump(mode="json") for r in team]}


@blueprint.get("/me/access-log")
async def my_access_log():
    query = read_query(AccessLogQuery)
    page = await audit_page({"subject_id": current_user().id}, query.limit, query.before)
    return page.model_dump(mode="json")


@blueprint.post("/patients/<patient_id>/emergency-access")
async def emergency_access(patient_id: str):
    request = await read_json(EmergencyAccessRequest)
    relation = await check_emergency_access(current_user(), patient_id, request.reason)
    return {"relation": relation.model_dump(mode="json")}, 201


@blueprint.post("/admin/care-relations")
async def assign_relation():
    request = await read_json(AssignRelationRequest)
    relation = await check_assign_relation(current_user(), request.patient_id, request.doctor_id, request.reason)
    return {"relation": relation.model_dump(mode="json")}, 201


@blueprint.post("/admin/care-relations/<relation_id>/end")
async def end_relation(relation_id: str):
    request = await read_json(EndRelationRequest)
    relation = await check_end_relation(current_user(), relation_id, request.reason)
    return {"relation": relation.model_dump(mode="json")}


@blueprint.get("/admin/audit")
async def audit_log():
    query = read_query(AuditQuery)
    filters = audit_filters(query.actor_id, query.subject_id, query.action, query.emergency)
    return (await audit_page(filters, query.limit, query.before)).model_dump(mode="json")
