"""FHIR R4 read access: GET /fhir/Observation?patient={id} returns a searchset Bundle of vitals."""

from __future__ import annotations

from quart import Blueprint
from quart import request

from engage.actions.records_export import check_export_record
from engage.actions.vitals import check_read_patient_data
from engage.config import get_settings
from engage.lib.fhir import searchset
from engage.lib.records_fhir import capability_statement
from engage.lib.records_fhir import everything_bundle
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
    # Absolute URLs only from the configured public URL, never from the Host header a client
    # controls; without one, relative references.
    public_url = get_settings().public_url
    base = public_url.rstrip("/") if public_url else ""
    query_string = request.query_string.decode("ascii", "replace")
    body = searchset(rows, total, base + request.path + (f"?{query_string}" if query_string else ""), base)
    return body, 200, {"Content-Type": FHIR_JSON}


# The day what /fhir serves last changed (the CapabilityStatement's date).
CAPABILITIES_DATE = "2026-12-06"


@blueprint.get("/Patient/<patient_id>/$everything")
async def patient_everything(patient_id: str):
    user = current_user()
    public_url = get_settings().public_url
    base = public_url.rstrip("/") if public_url else ""
    resources = await check_export_record(str(user.id), user.role.value, patient_id, base)
    headers = {"Content-Type": FHIR_JSON, "Content-Disposition": f'attachment; filename="record-{resources[0]["id"]}.fhir.json"'}
    return everything_bundle(resources, base + request.path, base), 200, headers


@blueprint.get("/metadata")
async def metadata():
    public_url = get_settings().public_url
    return capability_statement(public_url.rstrip("/") if public_url else "", "1.0", CAPABILITIES_DATE), 200, {"Content-Type": FHIR_JSON}
