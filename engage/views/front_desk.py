"""A clinic's front desk: the day's appointments, patient search, booking for a patient, moving,
cancelling and checking in (engage/actions/front_desk.py)."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.front_desk import check_check_in
from engage.actions.front_desk import check_find_by_token
from engage.actions.front_desk import check_front_desk_book
from engage.actions.front_desk import check_front_desk_cancel
from engage.actions.front_desk import check_front_desk_reschedule
from engage.actions.front_desk import list_day
from engage.actions.front_desk import search_patients
from engage.config import get_settings
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.booking import RescheduleRequest
from schemas.front_desk import FrontDeskBookRequest
from schemas.front_desk import FrontDeskCancelRequest
from schemas.front_desk import FrontDeskDayQuery
from schemas.front_desk import PatientSearchQuery

blueprint = Blueprint("front_desk", __name__, url_prefix="/api/clinics/<clinic_id>/front-desk")


@blueprint.get("/appointments")
async def day(clinic_id: str):
    clinic, date, appointments = await list_day(current_user(), clinic_id, read_query(FrontDeskDayQuery).date)
    return {"clinic_id": str(clinic.id), "date": date.isoformat(), "timezone": clinic.timezone, "appointments": appointments}


@blueprint.get("/appointments/by-token/<token>")
async def by_token(clinic_id: str, token: str):
    return {"appointment": await check_find_by_token(current_user(), clinic_id, token)}


@blueprint.get("/patients")
async def patients(clinic_id: str):
    return {"patients": await search_patients(current_user(), clinic_id, read_query(PatientSearchQuery).q)}


@blueprint.post("/appointments")
async def book(clinic_id: str):
    request = await read_json(FrontDeskBookRequest)
    return {"appointment": await check_front_desk_book(get_settings(), current_user(), clinic_id, request)}, 201


@blueprint.post("/appointments/<appointment_id>/reschedule")
async def reschedule(clinic_id: str, appointment_id: str):
    body = await read_json(RescheduleRequest)
    return {"appointment": await check_front_desk_reschedule(get_settings(), current_user(), clinic_id, appointment_id, body.start)}


@blueprint.post("/appointments/<appointment_id>/cancel")
async def cancel(clinic_id: str, appointment_id: str):
    body = await read_json(FrontDeskCancelRequest)
    return {"appointment": await check_front_desk_cancel(get_settings(), current_user(), clinic_id, appointment_id, body.reason)}


@blueprint.post("/appointments/<appointment_id>/check-in")
async def check_in(clinic_id: str, appointment_id: str):
    return {"appointment": await check_check_in(get_settings(), current_user(), clinic_id, appointment_id)}
