"""FHIR R4 read access: GET /fhir/Observation?patient={id} returns a searchset Bundle of vitals."""

from __future__ import annotations

from quart import Blueprint
from quart import request

from engage.actions.vitals import check_read_patient_data
from engage.lib.fhir import searchset
from engage.models.vitals import VitalReading
from engage.views.http import current_user
from engage.views.http import read_query
from schemas.vitals import FhirObservationQuery

blueprint = Blueprint("fhir", __name__, url_prefix="/fhir")

FHIR_JSON = "application/fhir+json"


@blueprint.get("/Observation")
async def observations():
    query = read_query(FhirObservationQuery)
    user = current_user()
    patient = await check_read_patient_data(str(user.id), user.role.value, query.patient, "vitals.fhir_read")
    filters = {"patient_id": patient.id}
    rows = await VitalReading.find(filters).sort(-VitalReading.taken_at).limit(query.count).to_list()
    total = await VitalReading.find(filters).count()
    base = request.host_url.rstrip("/")
    body = searchset(rows, total, request.url, base)
    return body, 200, {"Content-Type": FHIR_JSON}
