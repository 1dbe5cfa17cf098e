"""Doctors joining a clinic, the clinic's statistics and audit log (its clinic_admin or a platform
admin), and the signed-in user's clinic with its branding (issue 19)."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.clinic_doctors import check_approve_clinic_doctor
from engage.actions.clinic_doctors import check_clinic_audit
from engage.actions.clinic_doctors import check_clinic_stats
from engage.actions.clinic_doctors import check_list_clinic_doctors
from engage.actions.clinic_doctors import check_reject_clinic_doctor
from engage.actions.clinic_doctors import read_my_clinic
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.accounts import RejectRequest
from schemas.care import AuditQuery
from schemas.clinic_doctors import ClinicDoctorQuery
from schemas.stats import StatsQuery

blueprint = Blueprint("clinic_doctors", __name__, url_prefix="/api")


@blueprint.get("/clinics/<clinic_id>/doctors")
async def clinic_doctors(clinic_id: str):
    query = read_query(ClinicDoctorQuery)
    return {"doctors": await check_list_clinic_doctors(current_user(), clinic_id, query.status)}, 200


@blueprint.post("/clinics/<clinic_id>/doctors/<doctor_id>/approve")
async def approve_doctor(clinic_id: str, doctor_id: str):
    return {"doctor": await check_approve_clinic_doctor(current_user(), clinic_id, doctor_id)}, 200


@blueprint.post("/clinics/<clinic_id>/doctors/<doctor_id>/reject")
async def reject_doctor(clinic_id: str, doctor_id: str):
    body = await read_json(RejectRequest)
    return {"doctor": await check_reject_clinic_doctor(current_user(), clinic_id, doctor_id, body.reason)}, 200


@blueprint.get("/clinics/<clinic_id>/stats")
async def stats(clinic_id: str):
    query = read_query(StatsQuery)
    return (await check_clinic_stats(current_user(), clinic_id, query.days)).model_dump(mode="json"), 200


@blueprint.get("/clinics/<clinic_id>/audit")
async def audit(clinic_id: str):
    query = read_query(AuditQuery)
    return (await check_clinic_audit(current_user(), clinic_id, query)).model_dump(mode="json"), 200


@blueprint.get("/me/clinic")
async def my_clinic():
    return (await read_my_clinic(current_user())).model_dump(mode="json"), 200
