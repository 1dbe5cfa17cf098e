"""FHIR R4: the patient's vitals as a searchset Bundle, validated with fhir.resources."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle

from engage.models.audit import AuditEvent
from tests.clients import Api
from tests.conftest import login
from tests.conftest import register
from tests.servers import start_engage
from tests.vitals_helpers import ago
from tests.vitals_helpers import bp
from tests.vitals_helpers import relate
from tests.vitals_helpers import vital


pytestmark = pytest.mark.usefixtures("db")  # relations are created directly in the database.


async def test_observation_bundle_with_loinc_and_ucum(api, make_patient, make_doctor):
    patient = await make_patient()
    doctor = await make_doctor()
    await relate(doctor.id, patient.id)
    readings = [
        bp(128, 82, taken_at=ago(hours=6), source="device"),
        vital("heart_rate", 64, taken_at=ago(hours=5)),
        vital("weight", 176, unit="lb", taken_at=ago(hours=4)),
        vital("glucose", 6.1, unit="mmol/L", taken_at=ago(hours=3)),
        vital("spo2", 97, taken_at=ago(hours=2), note="resting"),
        vital("temperature", 98.6, unit="°F", taken_at=ago(hours=1)),
    ]
    assert (await api.post("/api/vitals", {"readings": readings}, token=patient.access_token)).body["created"] == 6
    resp = await api.get("/fhir/Observation", params={"patient": patient.id}, token=doctor.access_token)
    assert resp.status == 200, resp.body
    bundle = Bundle.model_validate(resp.body)  # raises on anything that is not valid FHIR
    assert bundle.type == "searchset" and bundle.total == 6 and len(bundle.entry) == 6
    by_code = {e.resource.code.coding[0].code: e.resource for e in bundle.entry}
    assert set(by_code) == {"85354-9", "8867-4", "29463-7", "2339-0", "59408-5", "8310-5"}
    for obs in by_code.values():
        assert obs.status == "final" and obs.subject.reference == f"Patient/{patient.id}"
        assert obs.category[0].coding[0].code == "vital-signs" and obs.code.coding[0].system == "http://loinc.org"
    panel = by_code["85354-9"]
    components = {c.code.coding[0].code: c.valueQuantity for c in panel.component}
    assert (components["8480-6"].value, components["8462-4"].value) == (128, 82)
    assert components["8480-6"].code == "mm[Hg]" and components["8480-6"].system == "http://unitsofmeasure.org"
    units = {code: (obs.valueQuantity.code, float(obs.valueQuantity.value)) for code, obs in by_code.items() if obs.valueQuantity}
    assert units == {"8867-4": ("/min", 64.0), "29463-7": ("kg", 79.83), "2339-0": ("mg/dL", 109.9), "59408-5": ("%", 97.0), "8310-5": ("Cel", 37.0)}
    assert by_code["59408-5"].note[0].text == "resting"
    assert await AuditEvent.find({"action": "vitals.fhir_read", "resource": "vitals"}).count() >= 1
    # newest first, and _count limits the page but not the total
    resp = await api.get("/fhir/Observation", params={"patient": patient.id, "_count": "2"}, token=patient.access_token)
    page = Bundle.model_validate(resp.body)
    assert page.total == 6 and [e.resource.code.coding[0].code for e in page.entry] == ["8310-5", "59408-5"]


async def test_observation_access_is_limited_to_the_care_team(api, make_patient, make_doctor):
    patient = await make_patient()
    resp = await api.get("/fhir/Observation", params={"patient": patient.id}, token=(await make_doctor()).access_token)
    assert resp.status == 404 and resp.error_code == "not_found"
    resp = await api.get("/fhir/Observation", params={"patient": "x"}, token=patient.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "patient"
    resp = await api.get("/fhir/Observation", token=patient.access_token)
    assert resp.status == 422


async def fhir_bundle_text(api, patient, **headers) -> tuple[object, str]:
    assert (await api.post("/api/vitals", vital("heart_rate", 61), token=patient.access_token)).status == 201
    resp = await api.get("/fhir/Observation", params={"patient": patient.id}, token=patient.access_token, headers=headers)
    assert resp.status == 200, resp.body
    return resp, json.dumps(resp.body)


async def test_fhir_responses_are_never_cached(api, make_patient):
    resp, _ = await fhir_bundle_text(api, await make_patient())
    assert resp.headers.get("Cache-Control") == "no-store"
    refused = await api.get("/fhir/Observation", params={"patient": "x"}, token=(await make_patient()).access_token)
    assert refused.status == 422 and refused.headers.get("Cache-Control") == "no-store"


async def test_fhir_urls_never_come_from_the_host_header(api, make_patient):
    """Without ENGAGE_PUBLIC_URL the Bundle's URLs are relative; a forged Host is echoed nowhere."""
    resp, text = await fhir_bundle_text(api, await make_patient(), Host="evil.example")
    assert "evil.example" not in text and "evil.example" not in json.dumps(resp.headers)
    bundle = Bundle.model_validate(resp.body)
    assert bundle.link[0].url.startswith("/fhir/Observation?patient=")
    assert all(entry.fullUrl.startswith("/fhir/Observation/") for entry in bundle.entry)


async def test_fhir_urls_come_from_the_public_url(engage_environment, tmp_root, http_session):
    """With ENGAGE_PUBLIC_URL set, every URL in the Bundle is absolute on it, whatever the Host."""
    public = "https://engage.example.org"
    proc = start_engage("web", {**engage_environment, "ENGAGE_PUBLIC_URL": public + "/"}, tmp_root)
    try:
        api = Api(http_session, proc.url)
        patient = await login(api, (await register(api, "patient"))["email"])
        resp, text = await fhir_bundle_text(api, patient, Host="evil.example")
        assert "evil.example" not in text
        bundle = Bundle.model_validate(resp.body)
        assert bundle.link[0].url == f"{public}/fhir/Observation?patient={patient.id}"
        assert [entry.fullUrl for entry in bundle.entry] == [f"{public}/fhir/Observation/{entry.resource.id}" for entry in bundle.entry]
    finally:
        proc.stop()
