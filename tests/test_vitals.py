"""Vitals ingest: validation, canonical units, batches, de-duplication, live watching, audit."""

from __future__ import annotations

import asyncio
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from beanie import PydanticObjectId

from engage.models.audit import AuditEvent
from engage.models.vitals import VitalReading
from schemas.vitals import ReadingEvent
from schemas.vitals import SubmitResult
from tests.clients import Api
from tests.vitals_helpers import ago
from tests.vitals_helpers import bp
from tests.vitals_helpers import relate
from tests.vitals_helpers import vital


pytestmark = pytest.mark.usefixtures("db")  # every test here checks what was stored.


@pytest.mark.parametrize(
    ("reading", "field", "code"),
    [
        (bp(120, 130), "systolic", "implausible_reading"),  # systolic <= diastolic
        (bp(120, 120), "systolic", "implausible_reading"),
        (bp(400, 80), "systolic", "implausible_reading"),
        (bp(120, 5), "diastolic", "implausible_reading"),
        ({"type": "blood_pressure", "systolic": 120, "taken_at": ago(seconds=1)}, "diastolic", "implausible_reading"),
        ({**bp(120, 80), "value": 3}, "value", "implausible_reading"),
        (vital("spo2", 101), "value", "implausible_reading"),
        (vital("weight", -3), "value", "implausible_reading"),
        (vital("glucose", 0), "value", "implausible_reading"),
        (vital("glucose", 2000), "value", "implausible_reading"),
        (vital("glucose", 90, unit="mmol/L"), "value", "implausible_reading"),  # 1,621 mg/dL
        (vital("heart_rate", 5), "value", "implausible_reading"),
        (vital("temperature", 50), "value", "implausible_reading"),
        (vital("temperature", 120, unit="°F"), "value", "implausible_reading"),
        (vital("heart_rate", 70, unit="kg"), "unit", "implausible_reading"),
        (vital("heart_rate", 70, systolic=120), "systolic", "implausible_reading"),
        ({"type": "heart_rate", "taken_at": ago(seconds=1)}, "value", "implausible_reading"),
        (vital("heart_rate", 70, taken_at=(datetime.now(UTC) + timedelta(days=1)).isoformat()), "taken_at", "implausible_reading"),
        (vital("heart_rate", 70, taken_at="1999-12-31T23:00:00Z"), "taken_at", "implausible_reading"),
        (vital("heart_rate", 70, taken_at="2026-01-01T10:00:00"), "taken_at", "validation_error"),  # no time zone
        (vital("heart_rate", "70"), "value", "validation_error"),
        (vital("heart_rate", True), "value", "validation_error"),
        (vital("pulse", 70), "type", "validation_error"),
        (vital("heart_rate", 70, source="guess"), "source", "validation_error"),
        (vital("heart_rate", 70, note="x" * 501), "note", "validation_error"),
        (vital("heart_rate", 70, colour="red"), "colour", "validation_error"),
    ],
)
async def test_impossible_readings_are_refused_with_the_field(api, make_patient, reading, field, code):
    patient = await make_patient()
    resp = await api.post("/api/vitals", reading, token=patient.access_token)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["code"] == code
    assert resp.body["error"]["field"] == field
    assert field in resp.body["error"]["message"]
    assert await VitalReading.find(VitalReading.patient_id == PydanticObjectId(patient.id)).count() == 0


async def test_readings_are_stored_canonically_and_keep_their_unit(api, make_patient, db):
    patient = await make_patient()
    cases = [
        (vital("glucose", 5.5, unit="mmol/L", taken_at=ago(minutes=1)), 99.09, "mg/dL"),
        (vital("weight", 154, unit="lb", taken_at=ago(minutes=2)), 69.85, "kg"),
        (vital("temperature", 101.3, unit="°F", taken_at=ago(minutes=3)), 38.5, "°C"),
        (vital("temperature", 37.0, unit="C", taken_at=ago(minutes=4)), 37.0, "°C"),
        (vital("spo2", 97, taken_at=ago(minutes=5)), 97.0, "%"),
    ]
    for body, canonical, unit in cases:
        resp = await api.post("/api/vitals", body, token=patient.access_token)
        assert resp.status == 201, resp.body
        stored = await VitalReading.get(resp.body["id"])
        assert stored.value == canonical and stored.unit == unit
        assert stored.given.value == body["value"]
        assert stored.given.unit == {"C": "°C"}.get(body.get("unit"), body.get("unit") or unit)
    resp = await api.post("/api/vitals", bp(132, 84, source="device", note="after walk"), token=patient.access_token)
    stored = await VitalReading.get(resp.body["id"])
    assert (stored.systolic, stored.diastolic, stored.value, stored.category) == (132, 84, None, "stage_1")
    assert stored.source == "device" and stored.note == "after walk" and stored.given.unit == "mmHg"


async def test_partial_batch_stores_the_good_items_and_reports_each(api, make_patient):
    patient = await make_patient()
    readings = [
        vital("heart_rate", 72, taken_at=ago(minutes=30)),
        vital("spo2", 140, taken_at=ago(minutes=29)),
        bp(118, 76, taken_at=ago(minutes=28)),
        "not an object",
        vital("heart_rate", 73, taken_at=ago(minutes=30, seconds=1)),  # duplicate of item 0 (1 s apart)
        vital("heart_rate", 74, taken_at=ago(minutes=25)),
    ]
    resp = await api.post("/api/vitals", {"readings": readings}, token=patient.access_token)
    assert resp.status == 200, resp.body
    result = SubmitResult.model_validate(resp.body)
    assert [r.status for r in result.results] == ["created", "invalid", "created", "invalid", "duplicate", "created"]
    assert (result.created, result.duplicates, result.invalid) == (3, 1, 2)
    assert result.results[1].error.field == "value" and result.results[1].error.code == "implausible_reading"
    assert result.results[4].id == result.results[0].id
    stored = await VitalReading.find(VitalReading.patient_id == PydanticObjectId(patient.id)).to_list()
    assert sorted(r.value or r.systolic for r in stored) == [72, 74, 118]


async def test_batch_limits(api, make_patient):
    patient = await make_patient()
    too_many = [vital("heart_rate", 70, taken_at=ago(minutes=i * 5 + 1)) for i in range(501)]
    resp = await api.post("/api/vitals", {"readings": too_many}, token=patient.access_token)
    assert resp.status == 422 and resp.body["error"]["code"] == "batch_too_large"
    resp = await api.post("/api/vitals", {"readings": []}, token=patient.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "readings"
    resp = await api.post("/api/vitals", [vital("heart_rate", 70)], token=patient.access_token)
    assert resp.status == 422


async def test_full_batch_of_500_is_stored(api, make_patient):
    patient = await make_patient()
    start = datetime.now(UTC) - timedelta(days=20)
    readings = [vital("heart_rate", 60 + i % 30, taken_at=(start + timedelta(minutes=10 * i)).isoformat()) for i in range(500)]
    resp = await api.post("/api/vitals", {"readings": readings}, token=patient.access_token)
    assert resp.status == 200 and resp.body["created"] == 500
    assert await VitalReading.find(VitalReading.patient_id == PydanticObjectId(patient.id)).count() == 500


async def test_duplicates_within_two_seconds_are_merged_even_when_concurrent(api, make_patient, web2, http_session):
    """Ten uploads of one reading at once, across two web processes: exactly one is stored."""
    patient = await make_patient()
    api2 = Api(http_session, web2.url)
    base = datetime.now(UTC) - timedelta(minutes=3)
    bodies = [vital("heart_rate", 80, taken_at=(base + timedelta(milliseconds=150 * i)).isoformat()) for i in range(10)]
    responses = await asyncio.gather(*[(api if i % 2 else api2).post("/api/vitals", b, token=patient.access_token) for i, b in enumerate(bodies)])
    assert sorted(r.status for r in responses) == [200] * 9 + [201]
    assert len({r.body["id"] for r in responses}) == 1
    assert await VitalReading.find(VitalReading.patient_id == PydanticObjectId(patient.id)).count() == 1
    # 2.5 s later is a new reading; another type at the same instant is too.
    later = await api.post("/api/vitals", vital("heart_rate", 81, taken_at=(base + timedelta(seconds=3.5)).isoformat()), token=patient.access_token)
    other = await api.post("/api/vitals", vital("spo2", 97, taken_at=base.isoformat()), token=patient.access_token)
    assert later.status == 201 and other.status == 201


async def test_only_patients_submit(api, make_doctor):
    doctor = await make_doctor()
    resp = await api.post("/api/vitals", vital("heart_rate", 70), token=doctor.access_token)
    assert resp.status == 403


async def test_socket_submit_and_live_delivery_to_a_watching_doctor(api, make_patient, make_doctor, connect, db, web2):
    patient = await make_patient()
    doctor = await make_doctor()
    await relate(doctor.id, patient.id)
    doctor_socket = await connect(doctor.access_token, url=web2.url)  # events cross web processes
    ack = await doctor_socket.call("vitals:watch", {"patient_id": patient.id})
    assert ack["ok"] is True and ack["patient_id"] == patient.id and ack["alerts"] == []
    patient_socket = await connect(patient.access_token)
    ack = await patient_socket.call("vitals:submit", vital("heart_rate", 77, taken_at=ago(seconds=2)))
    assert ack == {"ok": True, "status": "created", "id": ack["id"]}
    event = await doctor_socket.wait_for("vitals:reading", lambda d: d["reading"]["id"] == ack["id"])
    parsed = ReadingEvent.model_validate(event)
    assert parsed.reading.value == 77 and parsed.reading.patient_id == patient.id
    # REST submissions reach the watcher too
    resp = await api.post("/api/vitals", bp(121, 79, taken_at=ago(seconds=1)), token=patient.access_token)
    event = await doctor_socket.wait_for("vitals:reading", lambda d: d["reading"]["id"] == resp.body["id"])
    assert ReadingEvent.model_validate(event).reading.category == "elevated"
    audit = await AuditEvent.find({"actor_id": PydanticObjectId(doctor.id), "subject_id": PydanticObjectId(patient.id), "action": "vitals.watch"}).count()
    assert audit == 1


async def test_socket_submit_reports_invalid_reading(make_patient, connect):
    patient = await make_patient()
    sock = await connect(patient.access_token)
    ack = await sock.call("vitals:submit", vital("spo2", 101))
    assert ack["ok"] is False and ack["error"]["field"] == "value"


async def test_unrelated_doctor_is_refused(make_patient, make_doctor, connect, api, db):
    patient = await make_patient()
    stranger = await make_doctor()
    related_by_cancelled = await make_doctor()
    await relate(related_by_cancelled.id, patient.id, via="appointment", status="cancelled")
    for doctor in (stranger, related_by_cancelled):
        sock = await connect(doctor.access_token)
        ack = await sock.call("vitals:watch", {"patient_id": patient.id})
        assert ack["ok"] is False and ack["error"]["code"] == "not_found"
        resp = await api.get(f"/api/patients/{patient.id}/vitals", params={"type": "heart_rate"}, token=doctor.access_token)
        assert resp.status == 404 and resp.error_code == "not_found"
    other_patient = await make_patient()
    sock = await connect(other_patient.access_token)
    ack = await sock.call("vitals:watch", {"patient_id": patient.id})
    assert ack["ok"] is False and ack["error"]["code"] == "not_found"
    # refused watchers receive nothing
    patient_socket = await connect(patient.access_token)
    await patient_socket.call("vitals:submit", vital("heart_rate", 66, taken_at=ago(seconds=1)))
    assert sock.received("vitals:reading") == []


async def test_appointment_relation_allows_watching_and_reading(make_patient, make_doctor, connect, api, db):
    patient = await make_patient()
    doctor = await make_doctor()
    await relate(doctor.id, patient.id, via="appointment", status="confirmed")
    sock = await connect(doctor.access_token)
    assert (await sock.call("vitals:watch", {"patient_id": patient.id}))["ok"] is True
    resp = await api.get(f"/api/patients/{patient.id}/vitals/readings", token=doctor.access_token)
    assert resp.status == 200 and resp.body["readings"] == []
    actions = {e.action for e in await AuditEvent.find({"actor_id": PydanticObjectId(doctor.id)}).to_list()}
    assert actions == {"vitals.watch", "vitals.read"}


async def test_unwatch_stops_delivery_and_the_patient_sees_own_readings(make_patient, make_doctor, connect, db):
    patient = await make_patient()
    doctor = await make_doctor()
    await relate(doctor.id, patient.id)
    doctor_socket = await connect(doctor.access_token)
    assert (await doctor_socket.call("vitals:watch", {"patient_id": patient.id}))["ok"]
    assert (await doctor_socket.call("vitals:unwatch", {"patient_id": patient.id}))["ok"]
    phone = await connect(patient.access_token)
    tablet = await connect(patient.access_token)
    ack = await phone.call("vitals:submit", vital("weight", 70.5, taken_at=ago(seconds=1)))
    event = ReadingEvent.model_validate(await tablet.wait_for("vitals:reading"))
    assert event.reading.id == ack["id"] and event.reading.value == 70.5
    await phone.wait_for("vitals:reading")
    assert doctor_socket.received("vitals:reading") == []
