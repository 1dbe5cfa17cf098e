"""Schemathesis against the running server, from its own /api/openapi.json: as nobody (public routes),
then as a patient, an approved doctor in a care relation with them, and the admin. No request may
get a 5xx, and every answer must match what the document says (status, media type, schema).

Generated ids would almost always name nothing (404), so for positive cases the path's ids are
replaced by real ones from a small world built first: the patient, their doctor (a conversation,
an appointment, a prescription and its doses, a reading and an alert), a test centre, a waitlist
entry. Negative cases keep their broken ids. The run is bounded and reproducible: few examples per
operation, derandomized, no shrinking; the coverage phase's boundary values once per route.
"""

from __future__ import annotations

import base64
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import aiohttp
import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_headers_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.booking_support import ALL_DAY
from tests.booking_support import unique
from tests.conftest import login
from tests.conftest import register
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD

# Not negative_data_rejection: the API accepts some inputs the documents call invalid, on purpose or
# harmlessly: empty query values count as absent, pydantic's lax mode takes 0/1 for booleans and
# epoch numbers for timestamps, a repeated query parameter's first value is read, and a vitals batch
# answers per reading (an invalid one gets status "invalid", not a 422 for the batch).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 6
ONE_PIXEL_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")

# Left out, and why:
# - POST /api/auth/login: every failed sign-in counts against 127.0.0.1's per-address limit, which
#   every test of the session shares; fuzzing it would lock the rest of the suite out of signing in.
#   Its bounds are covered by tests/test_auth.py, tests/test_login_limits.py and tests/test_input_bounds.py.
EXCLUDED = {("POST", "/api/auth/login")}
# Routes that would take the world's own accounts out of the run (rejecting its doctor ends the
# doctor's sessions, and every later case as the doctor would get 401): fuzzed with generated ids
# only; their own tests cover them with real ones.
WITHOUT_WORLD_IDS = {("POST", "/api/admin/doctors/{doctor_id}/reject")}


@pytest.fixture(scope="module")
async def world(api) -> dict[str, Any]:
    """Accounts of every role and one of each thing a path can name, related as in real use."""
    admin = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
    patient_user = await register(api, "patient")
    patient = await login(api, patient_user["email"], patient_user["password"])
    doctor_user = await register(api, "doctor")
    assert (await api.post(f"/api/admin/doctors/{doctor_user['id']}/approve", token=admin.access_token)).status == 200
    doctor = await login(api, doctor_user["email"], doctor_user["password"])

    async def ok(resp, *statuses: int) -> dict:
        assert resp.status in (statuses or (200, 201)), resp.body
        return resp.body

    clinic = (await ok(await api.post("/api/admin/clinics", {"name": unique("Clinic"), "timezone": "UTC"}, token=admin.access_token)))["clinic"]
    await ok(await api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinic["id"], "specialties": [unique("fuzz")]}, token=admin.access_token))
    await ok(await api.put(f"/api/doctors/{doctor.id}/availability", {"slot_minutes": 30, "weekly": ALL_DAY}, token=doctor.access_token))
    centre = (
        await ok(
            await api.post(
                "/api/admin/test-centres",
                {"name": unique("Lab"), "kind": "blood_test", "clinic_id": clinic["id"], "capacity": 2, "weekly": ALL_DAY},
                token=admin.access_token,
            )
        )
    )["test_centre"]
    conversation = (await ok(await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)))["conversation"]
    await ok(await api.post(f"/api/conversations/{conversation['id']}/messages", {"client_id": "fuzz-1", "body": "Hello"}, token=patient.access_token))
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    slots = (await ok(await api.get(f"/api/doctors/{doctor.id}/slots", params={"from": day.isoformat(), "to": day.isoformat()}, token=patient.access_token)))["slots"]
    booking = {"doctor_id": doctor.id, "start": slots[0]["start"], "client_id": unique("fuzz")}
    appointment = (await ok(await api.post("/api/appointments", booking, token=patient.access_token)))["appointment"]
    window = {"doctor_id": doctor.id, "from": slots[1]["start"], "to": slots[-1]["end"]}
    entry = (await ok(await api.post("/api/waitlist", window, token=patient.access_token)))["entry"]
    await ok(await api.put(f"/api/patients/{patient.id}/thresholds", {"heart_rate": {"high": 120}}, token=doctor.access_token))
    taken_at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    await ok(await api.post("/api/vitals", {"type": "heart_rate", "value": 150, "taken_at": taken_at}, token=patient.access_token))
    alerts = (await ok(await api.get(f"/api/patients/{patient.id}/alerts", token=doctor.access_token)))["alerts"]
    prescription = {"drug": "Metformin", "dose": "500 mg", "times": ["08:00", "20:00"], "start_date": day.isoformat(), "end_date": day.isoformat()}
    prescribed = (await ok(await api.post(f"/api/patients/{patient.id}/prescriptions", prescription, token=doctor.access_token)))["prescription"]
    doses = (await ok(await api.get(f"/api/prescriptions/{prescribed['id']}/doses", token=patient.access_token)))["doses"]
    care_team = (await ok(await api.get("/api/me/care-team", token=patient.access_token)))["care_team"]
    record = f"/api/patients/{patient.id}"
    encounter = (await ok(await api.post(f"{record}/encounters", {"subjective": "Headache"}, token=doctor.access_token)))["encounter"]
    problem = (await ok(await api.post(f"{record}/problems", {"condition": "Hypertension"}, token=doctor.access_token)))["problem"]
    allergy = (await ok(await api.post(f"{record}/allergies", {"substance": "Penicillin"}, token=doctor.access_token)))["allergy"]
    form = aiohttp.FormData()
    form.add_field("file", ONE_PIXEL_PNG, filename="scan.png", content_type="image/png")
    document = (await ok(await api.post(f"{record}/documents", data=form, token=patient.access_token)))["document"]
    ids = {
        "patient_id": patient.id,
        "doctor_id": doctor.id,
        "conversation_id": conversation["id"],
        "appointment_id": appointment["id"],
        "token": appointment["token"],
        "entry_id": entry["id"],
        "centre_id": centre["id"],
        "prescription_id": prescribed["id"],
        "dose_id": doses[0]["id"] if doses else None,
        "alert_id": alerts[0]["id"] if alerts else None,
        "relation_id": next((r["id"] for r in care_team if r["id"]), None),
        "clinic_id": clinic["id"],
        "encounter_id": encounter["id"],
        "problem_id": problem["id"],
        "allergy_id": allergy["id"],
        "document_id": document["id"],
    }
    return {"tokens": {"patient": patient.access_token, "doctor": doctor.access_token, "admin": admin.access_token}, "ids": ids}


def _load(url: str, phases: list[str]):
    loaded = schemathesis.openapi.from_url(url + "/api/openapi.json")
    loaded.config.update(base_url=url, request_timeout=30)
    loaded.config.generation.update(max_examples=EXAMPLES_PER_OPERATION, deterministic=True, no_shrink=True, database="none")
    loaded.config.phases.update(phases=phases)
    return loaded


@pytest.fixture(scope="module")
def api_schema(web):
    """Every phase: explicit examples, the coverage phase's boundary and invalid values, random fuzzing."""
    return _load(web.url, ["examples", "coverage", "fuzzing"])


@pytest.fixture(scope="module")
def api_schema_fuzzing(web):
    """Random fuzzing only: for a route already taken through every phase as another role."""
    return _load(web.url, ["examples", "fuzzing"])


ROLES = ("patient", "doctor", "admin")


def _is_public(ctx) -> bool:
    return ctx.operation.definition.raw.get("security") == []


def _roles(ctx) -> list[str]:
    return ctx.operation.definition.raw.get("x-roles", [])


def _routes_of(role: str, first: bool):
    """The signed-in routes engage.policy lets this role call (the authorization matrix covers the
    refusals): those no earlier role of ROLES may call (first), or the others."""

    def matches(ctx) -> bool:
        roles = _roles(ctx)
        return role in roles and (next(r for r in ROLES if r in roles) == role) == first

    return matches


def _excluded(ctx) -> bool:
    return (ctx.operation.method.upper(), ctx.operation.path) in EXCLUDED


# (Filters: includes are alternatives, excludes apply to all.)
schema = schemathesis.pytest.from_fixture("api_schema").exclude(_excluded)
fuzzing_schema = schemathesis.pytest.from_fixture("api_schema_fuzzing").exclude(_excluded)


def _call(case, world: dict[str, Any], role: str | None, web) -> None:
    route = (case.operation.method.upper(), case.operation.path)
    if case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE and route not in WITHOUT_WORLD_IDS:
        known = {name: world["ids"].get(name) for name in case.path_parameters or {}}
        case.path_parameters = {**(case.path_parameters or {}), **{k: v for k, v in known.items() if v}}
    headers = {"Authorization": f"Bearer {world['tokens'][role]}"} if role else {}
    try:
        case.call_and_validate(headers=headers, checks=CHECKS)
    except Exception as exc:
        exc.add_note("web process log:\n" + web.log_tail(30))  # the server's side of a 5xx
        raise


SETTINGS = hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, suppress_health_check=list(hypothesis.HealthCheck))


# Public routes answer the same to everyone: fuzzed once, as nobody. Each signed-in route goes
# through every phase as the first role allowed to call it, and through random fuzzing as the others.
@schema.include(_is_public).parametrize()
@SETTINGS
def test_public_routes_as_nobody(case, world, web):
    _call(case, world, None, web)


@schema.include(_routes_of("patient", first=True)).parametrize()
@SETTINGS
def test_routes_as_a_patient(case, world, web):
    _call(case, world, "patient", web)


@schema.include(_routes_of("doctor", first=True)).parametrize()
@SETTINGS
def test_routes_as_a_doctor_in_care(case, world, web):
    _call(case, world, "doctor", web)


@fuzzing_schema.include(_routes_of("doctor", first=False)).parametrize()
@SETTINGS
def test_shared_routes_as_a_doctor_in_care(case, world, web):
    _call(case, world, "doctor", web)


@schema.include(_routes_of("admin", first=True)).parametrize()
@SETTINGS
def test_routes_as_the_admin(case, world, web):
    _call(case, world, "admin", web)


@fuzzing_schema.include(_routes_of("admin", first=False)).parametrize()
@SETTINGS
def test_shared_routes_as_the_admin(case, world, web):
    _call(case, world, "admin", web)


# ---- what the fuzzing found, pinned -----------------------------------------------------------


async def test_a_null_specialties_list_is_refused_and_never_stored(api, world):
    """PATCH /api/doctors/{id} {"specialties": null} was a 500 (and, stored, broke every doctor listing)."""
    doctor_id, token = world["ids"]["doctor_id"], world["tokens"]["doctor"]
    resp = await api.patch(f"/api/doctors/{doctor_id}", {"specialties": None, "fee": 999999}, token=token)
    assert resp.status == 422 and resp.body["error"]["field"] == "specialties", resp.body
    listed = await api.get("/api/doctors", token=world["tokens"]["patient"])
    assert listed.status == 200 and any(d["id"] == doctor_id and d["specialties"] for d in listed.body["doctors"])
