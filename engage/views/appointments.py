"""Appointments (consultations and diagnostics) and the waitlist."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.audit import record_health_data_access
from engage.actions.booking import access_appointment
from engage.actions.booking import check_book
from engage.actions.booking import check_cancel
from engage.actions.booking import check_confirm
from engage.actions.booking import check_reschedule
from engage.actions.booking import check_set_status
from engage.actions.booking import find_by_token
from engage.actions.booking import list_appointments
from engage.actions.waitlist import check_accept_offer
from engage.actions.waitlist import check_decline_offer
from engage.actions.waitlist import check_join_waitlist
from engage.actions.waitlist import check_leave_waitlist
from engage.actions.waitlist import list_waitlist
from engage.actions.waitlist import waitlist_entry_out
from engage.config import get_settings
from engage.lib.booking import appointment_out
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.booking import AppointmentListQuery
from schemas.booking import BookRequest
from schemas.booking import CancelRequest
from schemas.booking import RescheduleRequest
from schemas.booking import StatusRequest
from schemas.booking import WaitlistRequest

blueprint = Blueprint("appointments", __name__, url_prefix="/api")


@blueprint.post("/appointments")
async def book():
    appointment = await check_book(get_settings(), current_user(), await read_json(BookRequest))
    return {"appointment": appointment_out(appointment)}, 201


@blueprint.get("/appointments")
async def appointments():
    query = read_query(AppointmentListQuery)
    found = await list_appointments(current_user(), query.status, query.upcoming, query.limit)
    return {"appointments": [appointment_out(a) for a in found]}


@blueprint.get("/appointments/by-token/<token>")
async def appointment_by_token(token: str):
    appointment = await find_by_token(token)
    user = current_user()
    await record_health_data_access(str(user.id), user.role.value, str(appointment.patient_id), "appointment.read", f"appointment:{appointment.id}")
    return {"appointment": appointment_out(appointment)}


@blueprint.get("/appointments/<appointment_id>")
async def appointment(appointment_id: str):
    user = current_user()
    found = await access_appointment(user, appointment_id)
    await record_health_data_access(str(user.id), user.role.value, str(found.patient_id), "appointment.read", f"appointment:{found.id}")
    return {"appointment": appointment_out(found)}


@blueprint.post("/appointments/<appointment_id>/reschedule")
async def reschedule(appointment_id: str):
    body = await read_json(RescheduleRequest)
    return {"appointment": appointment_out(await check_reschedule(get_settings(), current_user(), appointment_id, body.start))}


@blueprint.post("/appointments/<appointment_id>/cancel")
async def cancel(appointment_id: str):
    body = await read_json(CancelRequest)
    return {"appointment": appointment_out(await check_cancel(get_settings(), current_user(), appointment_id, body.reason))}


@blueprint.post("/appointments/<appointment_id>/confirm")
async def confirm(appointment_id: str):
    return {"appointment": appointment_out(await check_confirm(get_settings(), current_user(), appointment_id))}


@blueprint.post("/appointments/<appointment_id>/status")
async def set_status(appointment_id: str):
    body = await read_json(StatusRequest)
    return {"appointment": appointment_out(await check_set_status(get_settings(), current_user(), appointment_id, body.status))}


@blueprint.post("/waitlist")
async def join_waitlist():
    entry = await check_join_waitlist(current_user(), await read_json(WaitlistRequest))
    return {"entry": waitlist_entry_out(entry)}, 201


@blueprint.get("/waitlist")
async def waitlist():
    return {"entries": [waitlist_entry_out(e) for e in await list_waitlist(current_user())]}


@blueprint.post("/waitlist/<entry_id>/accept")
async def accept_offer(entry_id: str):
    return {"appointment": appointment_out(await check_accept_offer(get_settings(), current_user(), entry_id))}, 201


@blueprint.post("/waitlist/<entry_id>/decline")
async def decline_offer(entry_id: str):
    return {"entry": waitlist_entry_out(await check_decline_offer(get_settings(), current_user(), entry_id))}


@blueprint.post("/waitlist/<entry_id>/cancel")
async def leave_waitlist(entry_id: str):
    return {"entry": waitlist_entry_out(await check_leave_waitlist(get_settings(), current_user(), entry_id))}
