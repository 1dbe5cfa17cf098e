"""Clinics, doctor profiles and availability, test centres, and browsing slots."""

from __future__ import annotations


from quart import Blueprint

from engage.actions.clinic_doctors import membership_out
from engage.actions.clinics import check_set_availability
from engage.actions.clinics import check_update_doctor_profile
from engage.actions.clinics import do_create_clinic
from engage.actions.clinics import do_create_test_centre
from engage.actions.clinics import list_clinics
from engage.actions.clinics import list_doctor_profiles
from engage.actions.clinics import list_specialties
from engage.actions.clinics import list_test_centres
from engage.config import get_settings
from engage.lib.booking import Resource
from engage.lib.booking import access_doctor_profile
from engage.lib.booking import access_test_centre
from engage.lib.booking import clinic_out
from engage.lib.booking import doctor_profile_out
from engage.lib.booking import doctor_resource
from engage.lib.booking import free_slots
from engage.lib.booking import slot_out
from engage.lib.booking import test_centre_out
from engage.lib.booking import test_centre_resource
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.booking import AvailabilityRequest
from schemas.booking import ClinicCreateRequest
from schemas.booking import DateRangeQuery
from schemas.booking import DoctorListQuery
from schemas.booking import DoctorProfileRequest
from schemas.booking import TestCentreCreateRequest
from schemas.booking import TestCentreListQuery

blueprint = Blueprint("clinics", __name__, url_prefix="/api")


@blueprint.post("/admin/clinics")
async def create_clinic():
    return {"clinic": clinic_out(await do_create_clinic(await read_json(ClinicCreateRequest)))}, 201


@blueprint.get("/clinics")
async def clinics():
    return {"clinics": [clinic_out(c) for c in await list_clinics()]}


@blueprint.patch("/doctors/<doctor_id>")
async def update_doctor(doctor_id: str):
    actor = current_user()
    profile, clinic_request = await check_update_doctor_profile(actor, doctor_id, await read_json(DoctorProfileRequest))
    # A doctor's clinic_id is a request the clinic decides; a request is only ever the actor's own.
    return {
        "doctor": doctor_profile_out(profile) if profile else None,
        "clinic_request": membership_out(clinic_request, actor) if clinic_request else None,
    }


@blueprint.put("/doctors/<doctor_id>/availability")
async def set_availability(doctor_id: str):
    profile = await check_set_availability(current_user(), doctor_id, await read_json(AvailabilityRequest))
    return {"doctor": doctor_profile_out(profile)}


@blueprint.get("/doctors")
async def doctors():
    query = read_query(DoctorListQuery)
    return {"doctors": [doctor_profile_out(p) for p in await list_doctor_profiles(query.specialty, query.clinic_id)]}


@blueprint.get("/doctors/<doctor_id>")
async def doctor(doctor_id: str):
    return {"doctor": doctor_profile_out(await access_doctor_profile(doctor_id))}


@blueprint.get("/specialties")
async def specialties():
    return {"specialties": await list_specialties()}


async def _slots_response(resource: Resource) -> dict:
    query = read_query(DateRangeQuery)
    slots = await free_slots(get_settings(), resource, query.from_, query.to)
    return {
        "timezone": resource.timezone,
        "slot_minutes": resource.availability.slot_minutes,
        "from": query.from_.isoformat(),
        "to": query.to.isoformat(),
        "slots": [slot_out(resource, *slot) for slot in slots],
    }


@blueprint.get("/doctors/<doctor_id>/slots")
async def doctor_slots(doctor_id: str):
    resource = doctor_resource(await access_doctor_profile(doctor_id))
    return {"doctor_id": doctor_id, **await _slots_response(resource)}


@blueprint.post("/admin/test-centres")
async def create_test_centre():
    return {"test_centre": test_centre_out(await do_create_test_centre(await read_json(TestCentreCreateRequest)))}, 201


@blueprint.get("/test-centres")
async def test_centres():
    query = read_query(TestCentreListQuery)
    return {"test_centres": [test_centre_out(c) for c in await list_test_centres(query.kind, query.clinic_id)]}


@blueprint.get("/test-centres/<centre_id>/slots")
async def test_centre_slots(centre_id: str):
    resource = test_centre_resource(await access_test_centre(centre_id))
    return {"test_centre_id": centre_id, **await _slots_response(resource)}


