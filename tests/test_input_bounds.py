"""Crafted input is a 4xx naming what is wrong, never a 500: dates, JSON nesting, number size."""

from __future__ import annotations

import uuid

import pytest

from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.booking_support import make_clinic
from tests.booking_support import make_scheduled_doctor
from tests.clients import Response
from tests.test_engineio_garbage import LogReader
from tests.vitals_helpers import ago
from tests.vitals_helpers import vital
from tests.waiting import wait_until

OUTSIDE_TIMES = ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00Z"]
OUTSIDE_DATES = ["9999-12-31", "0001-01-01"]
JSON = {"Content-Type": "application/json"}


def assert_refused_year(resp: Response, field: str) -> None:
    assert resp.status == 422, resp.body
    assert resp.error_code == "validation_error", resp.body
    assert resp.body["error"]["field"] == field, resp.body
    assert "between the years 1900 and 2200" in resp.body["error"]["message"], resp.body


# ---- JSON bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login"])
async def test_a_number_too_large_for_a_double_is_refused(api, path):
    """An email of 5,000 digits sent as a JSON number (Python's int parser refuses it with a ValueError)."""
    resp = await api.post(path, data='{"email": ' + "1" * 5000 + ', "password": "x"}', headers=JSON)
    assert resp.status == 422, resp.body
    assert resp.error_code == "json_number_too_large", resp.body


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login"])
async def test_an_email_of_5000_digits_is_refused_with_the_field(api, path):
    body = {"email": "1" * 5000, "password": "correct-horse-42", "name": "Digits", "role": "patient"}
    if path.endswith("login"):
        body = {"email": body["email"], "password": body["password"]}
    resp = await api.post(path, body)
    assert resp.status == 422, resp.body
    assert resp.error_code == "validation_error" and resp.body["error"]["field"] == "email", resp.body


@pytest.mark.parametrize("body", ["[" * 100_000, "[" * 40 + "]" * 40, '{"email": ' + '{"a": ' * 40 + "1" + "}" * 41],
                         ids=["unbalanced-100000", "balanced-40", "inside-a-field"])
async def test_json_nested_too_deep_is_refused(api, body):
    resp = await api.post("/api/auth/login", data=body, headers=JSON)
    assert resp.status == 422, resp.body
    assert resp.error_code == "json_too_deep", resp.body
    assert "32" in resp.body["error"]["message"]


async def test_ordinary_nesting_still_parses(api, make_patient):
    """A batch of readings nests three levels; well inside the bound."""
    patient = await make_patient()
    resp = await api.post("/api/vitals", {"readings": [vital("heart_rate", 70), vital("heart_rate", 71, taken_at=ago(minutes=5))]},
                          token=patient.access_token)
    assert resp.status == 200 and resp.body["created"] == 2, resp.body


async def test_the_vitals_body_reader_has_the_same_bounds(api, make_patient):
    patient = await make_patient()
    resp = await api.post("/api/vitals", data="[" * 100_000, headers=JSON, token=patient.access_token)
    assert resp.status == 422 and resp.error_code == "json_too_deep", resp.body
    resp = await api.post("/api/vitals", data='{"type": "heart_rate", "value": 1' + "0" * 400 + "}", headers=JSON, token=patient.access_token)
    assert resp.status == 422 and resp.error_code == "json_number_too_large", resp.body


# ---- query strings -------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["1e400", "99999999999999999999999", "9" * 5000, "-1", "nan"])
async def test_huge_integers_in_query_strings_are_refused(api, make_patient, limit):
    patient = await make_patient()
    resp = await api.get("/api/appointments", params={"limit": limit}, token=patient.access_token)
    assert resp.status == 422, resp.body
    assert resp.error_code == "validation_error" and resp.body["error"]["field"] == "limit", resp.body


# ---- dates and times -----------------------------------------------------------------------


@pytest.mark.parametrize("day", OUTSIDE_DATES)
async def test_doctor_and_test_centre_slots_outside_the_supported_years(api, admin, make_doctor, make_patient, day):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    clinic = await make_clinic(api, admin)
    centre = await api.post("/api/admin/test-centres", {"name": f"Lab {uuid.uuid4().hex[:6]}", "kind": "xray", "clinic_id": clinic["id"], "capacity": 1,
                                                        "weekly": [{"weekday": 0, "start": "08:00", "end": "10:00"}]}, token=admin.access_token)
    assert centre.status == 201, centre.body
    patient = await make_patient()
    for path in (f"/api/doctors/{doctor.id}/slots", f"/api/test-centres/{centre.body['test_centre']['id']}/slots"):
        resp = await api.get(path, params={"from": day, "to": day}, token=patient.access_token)
        assert_refused_year(resp, "from")
        resp = await api.get(path, params={"from": "2030-01-01", "to": day}, token=patient.access_token)
        assert_refused_year(resp, "to")


async def test_slots_at_the_edges_of_the_supported_years_are_answered(api, admin, make_doctor, make_patient):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    for first, last in (("2200-12-30", "2200-12-31"), ("1900-01-01", "1900-01-02")):
        resp = await api.get(f"/api/doctors/{doctor.id}/slots", params={"from": first, "to": last}, token=patient.access_token)
        assert resp.status == 200, resp.body


@pytest.mark.parametrize("start", OUTSIDE_TIMES)
async def test_booking_and_rescheduling_outside_the_supported_years(api, admin, make_doctor, make_patient, start):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    assert_refused_year(await book(api, patient, doctor.id, start), "start")
    booked = await book(api, patient, doctor.id, local_slot(future_day(), "10:00"))
    assert booked.status == 201, booked.body
    resp = await api.post(f"/api/appointments/{booked.body['appointment']['id']}/reschedule", {"start": start}, token=patient.access_token)
    assert_refused_year(resp, "start")


@pytest.mark.parametrize("moment", OUTSIDE_TIMES)
async def test_waitlist_window_outside_the_supported_years(api, admin, make_doctor, make_patient, moment):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    resp = await api.post("/api/waitlist", {"doctor_id": doctor.id, "from": moment, "to": "2030-01-02T00:00:00Z"}, token=patient.access_token)
    assert_refused_year(resp, "from")
    resp = await api.post("/api/waitlist", {"doctor_id": doctor.id, "from": "2030-01-01T00:00:00Z", "to": moment}, token=patient.access_token)
    assert_refused_year(resp, "to")


@pytest.mark.parametrize("taken_at", OUTSIDE_TIMES)
async def test_vitals_taken_outside_the_supported_years_over_http(api, make_patient, taken_at):
    patient = await make_patient()
    resp = await api.post("/api/vitals", vital("heart_rate", 70, taken_at=taken_at), token=patient.access_token)
    assert_refused_year(resp, "taken_at")
    resp = await api.post("/api/vitals", {"readings": [vital("heart_rate", 70), vital("heart_rate", 72, taken_at=taken_at)]}, token=patient.access_token)
    assert resp.status == 200, resp.body
    assert [item["status"] for item in resp.body["results"]] == ["created", "invalid"]
    assert resp.body["results"][1]["error"]["field"] == "taken_at", resp.body


@pytest.mark.parametrize("taken_at", OUTSIDE_TIMES)
async def test_vitals_taken_outside_the_supported_years_over_the_socket(make_patient, connect, taken_at):
    patient = await make_patient()
    client = await connect(patient.access_token)
    ack = await client.call("vitals:submit", vital("heart_rate", 70, taken_at=taken_at))
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == "validation_error" and ack["error"]["field"] == "taken_at", ack


@pytest.mark.parametrize("moment", OUTSIDE_TIMES)
@pytest.mark.parametrize("view", ["vitals", "vitals/readings"])
async def test_trend_and_readings_queries_outside_the_supported_years(api, make_patient, view, moment):
    patient = await make_patient()
    path = f"/api/patients/{patient.id}/{view}"
    resp = await api.get(path, params={"type": "heart_rate", "from": moment, "to": "2030-01-01T00:00:00Z"}, token=patient.access_token)
    assert_refused_year(resp, "from")
    resp = await api.get(path, params={"type": "heart_rate", "from": "2020-01-01T00:00:00Z", "to": moment}, token=patient.access_token)
    assert_refused_year(resp, "to")


# ---- socket payloads -----------------------------------------------------------------------


async def test_a_socket_event_nested_too_deep_is_dropped_with_one_log_line(web, make_patient, connect):
    """The codec refuses it before any handler runs; the socket keeps working."""
    patient = await make_patient()
    client = await connect(patient.access_token)
    reader = LogReader(web)
    nested: object = vital("heart_rate", 70)
    for _ in range(40):
        nested = [nested]
    await client.emit("vitals:submit", nested)

    async def logged() -> bool:
        return "nests deeper than 32" in reader.new_text()

    await wait_until(logged, timeout=10)
    assert "Traceback" not in reader.new_text() and len(reader.new_lines()) == 1, reader.new_text()
    ack = await client.call("vitals:submit", vital("heart_rate", 70))
    assert ack["ok"] is True, ack
