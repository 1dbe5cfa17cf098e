"""Medication over HTTP: prescribe, list with adherence, doses, mark taken, stop."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.medication import check_list_doses
from engage.actions.medication import check_list_prescriptions
from engage.actions.medication import check_mark_taken
from engage.actions.medication import check_prescribe
from engage.actions.medication import check_stop_prescription
from engage.actions.medication import dose_out
from engage.actions.medication import prescription_out
from engage.lib.medication_schedule import adherence
from engage.lib.validation import parse_model
from engage.views.http import current_user
from engage.views.http import read_json
from schemas.vitals import DoseTakenRequest
from schemas.vitals import PrescriptionRequest

blueprint = Blueprint("medication", __name__)


@blueprint.post("/api/patients/<patient_id>/prescriptions")
async def prescribe(patient_id: str):
    body = await read_json(PrescriptionRequest)
    user = current_user()
    prescription = await check_prescribe(str(user.id), user.role.value, patient_id, body)
    return {"prescription": prescription_out(prescription).model_dump(mode="json")}, 201


@blueprint.get("/api/patients/<patient_id>/prescriptions")
async def list_prescriptions(patient_id: str):
    user = current_user()
    return {"prescriptions": await check_list_prescriptions(str(user.id), user.role.value, patient_id)}


@blueprint.get("/api/prescriptions/<prescription_id>/doses")
async def list_doses(prescription_id: str):
    user = current_user()
    prescription, doses = await check_list_doses(str(user.id), user.role.value, parse_model(DoseTakenRequest, {"prescription_id": prescription_id}).prescription_id)
    return {"adherence": adherence(prescription, doses), "doses": [dose_out(d).model_dump(mode="json") for d in doses]}


@blueprint.post("/api/prescriptions/<prescription_id>/stop")
async def stop(prescription_id: str):
    user = current_user()
    prescription = await check_stop_prescription(str(user.id), user.role.value, parse_model(DoseTakenRequest, {"prescription_id": prescription_id}).prescription_id)
    return {"prescription": prescription_out(prescription).model_dump(mode="json")}


@blueprint.post("/api/medication/doses/<dose_id>/taken")
async def mark_taken(dose_id: str):
    user = current_user()
    request = parse_model(DoseTakenRequest, {"dose_id": dose_id})
    dose = await check_mark_taken(str(user.id), user.role.value, request.dose_id, None, "rest")
    return {"dose": dose_out(dose).model_dump(mode="json")}
