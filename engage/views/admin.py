"""Admin: doctor approvals and rejections."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.users import do_approve_doctor
from engage.actions.users import do_reject_doctor
from engage.actions.users import list_doctors
from engage.lib.users import user_out
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.accounts import RejectRequest
from schemas.users import AdminDoctorListQuery

blueprint = Blueprint("admin", __name__, url_prefix="/api/admin")


@blueprint.get("/doctors")
async def doctors():
    query = read_query(AdminDoctorListQuery)
    return {"doctors": [user_out(d) for d in await list_doctors(query.status)]}


@blueprint.post("/doctors/<doctor_id>/approve")
async def approve(doctor_id: str):
    return {"user": user_out(await do_approve_doctor(doctor_id))}


@blueprint.post("/doctors/<doctor_id>/reject")
async def reject(doctor_id: str):
    body = await read_json(RejectRequest)
    return {"user": user_out(await do_reject_doctor(doctor_id, body.reason, current_user()))}
