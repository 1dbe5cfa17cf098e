"""Trend buckets: min/avg/max/count per hour, day or week in the patient's time zone, across DST."""

from __future__ import annotations

import pytest

from schemas.vitals import TrendOut
from tests.vitals_helpers import relate


pytestmark = pytest.mark.usefixtures("db")  # relations are created directly in the database.


def hr(value: float, at: str) -> dict:
    return {"type": "heart_rate", "value": value, "taken_at": at}


@pytest.fixture
async def new_yorker(api, make_patient):
    patient = await make_patient(timezone="America/New_York")
    readings = [
        # spring forward: 2026-03-08 02:00 EST -> 03:00 EDT
        hr(60, "2026-03-07T17:00:00Z"),  # Mar 7 12:00 EST
        hr(70, "2026-03-08T04:30:00Z"),  # Mar 7 23:30 EST
        hr(80, "2026-03-08T05:30:00Z"),  # Mar 8 00:30 EST
        hr(90, "2026-03-08T07:30:00Z"),  # Mar 8 03:30 EDT
        hr(100, "2026-03-09T03:30:00Z"),  # Mar 8 23:30 EDT
        hr(110, "2026-03-09T04:30:00Z"),  # Mar 9 00:30 EDT
        # fall back: 2026-11-01 02:00 EDT -> 01:00 EST; 01:30 happens twice
        hr(61, "2026-11-01T05:30:00Z"),  # 01:30 EDT
        hr(63, "2026-11-01T05:45:00Z"),  # 01:45 EDT
        hr(65, "2026-11-01T06:30:00Z"),  # 01:30 EST
    ]
    resp = await api.post("/api/vitals", {"readings": readings}, token=patient.access_token)
    assert resp.body["created"] == len(readings), resp.body
    return patient


async def trend(api, patient, token=None, **params) -> TrendOut:
    resp = await api.get(f"/api/patients/{patient.id}/vitals", params=params, token=token or patient.access_token)
    assert resp.status == 200, resp.body
    return TrendOut.model_validate({**resp.body, "from_": resp.body["from"]})


async def test_day_buckets_follow_local_midnight_across_spring_forward(api, new_yorker):
    out = await trend(api, new_yorker, type="heart_rate", bucket="day", **{"from": "2026-03-06T00:00:00Z", "to": "2026-03-12T00:00:00Z"})
    assert out.timezone == "America/New_York" and out.unit == "bpm"
    rows = [(b.start_local, b.count, b.min, b.avg, b.max) for b in out.buckets]
    assert rows == [
        ("2026-03-07T00:00:00-05:00", 2, 60, 65, 70),
        ("2026-03-08T00:00:00-05:00", 3, 80, 90, 100),  # a 23-hour day
        ("2026-03-09T00:00:00-04:00", 1, 110, 110, 110),
    ]
    assert [b.start.isoformat() for b in out.buckets] == ["2026-03-07T05:00:00+00:00", "2026-03-08T05:00:00+00:00", "2026-03-09T04:00:00+00:00"]


async def test_hour_buckets_keep_the_repeated_hour_apart_at_fall_back(api, new_yorker):
    out = await trend(api, new_yorker, type="heart_rate", bucket="hour", **{"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"})
    rows = [(b.start_local, b.count, b.avg) for b in out.buckets]
    assert rows == [("2026-11-01T01:00:00-04:00", 2, 62), ("2026-11-01T01:00:00-05:00", 1, 65)]


async def test_week_buckets_start_on_local_monday(api, new_yorker):
    out = await trend(api, new_yorker, type="heart_rate", bucket="week", **{"from": "2026-03-01T00:00:00Z", "to": "2026-03-20T00:00:00Z"})
    rows = [(b.start_local, b.count, b.max) for b in out.buckets]
    # Sunday Mar 8 belongs to the week of Monday Mar 2; Monday Mar 9 00:30 starts the next one
    assert rows == [("2026-03-02T00:00:00-05:00", 5, 100), ("2026-03-09T00:00:00-04:00", 1, 110)]


async def test_blood_pressure_buckets_have_both_parts(api, make_patient, make_doctor):
    patient = await make_patient(timezone="Asia/Kolkata")
    doctor = await make_doctor()
    await relate(doctor.id, patient.id)
    readings = [
        {"type": "blood_pressure", "systolic": 120, "diastolic": 80, "taken_at": "2026-06-01T18:00:00Z"},  # Jun 1 23:30 IST
        {"type": "blood_pressure", "systolic": 140, "diastolic": 90, "taken_at": "2026-06-01T18:45:00Z"},  # Jun 2 00:15 IST
        {"type": "blood_pressure", "systolic": 130, "diastolic": 70, "taken_at": "2026-06-02T10:00:00Z"},
    ]
    assert (await api.post("/api/vitals", {"readings": readings}, token=patient.access_token)).body["created"] == 3
    out = await trend(api, patient, token=doctor.access_token, type="blood_pressure", **{"from": "2026-05-30T00:00:00Z", "to": "2026-06-05T00:00:00Z"})
    assert [(b.start_local, b.count) for b in out.buckets] == [("2026-06-01T00:00:00+05:30", 1), ("2026-06-02T00:00:00+05:30", 2)]
    second = out.buckets[1]
    assert (second.systolic.min, second.systolic.avg, second.systolic.max) == (130, 135, 140)
    assert (second.diastolic.min, second.diastolic.avg, second.diastolic.max) == (70, 80, 90)
    assert second.min is None


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"type": "heart_rate", "bucket": "minute"}, "validation_error"),
        ({"type": "pulse"}, "validation_error"),
        ({}, "validation_error"),
        ({"type": "heart_rate", "from": "2026-03-01"}, "validation_error"),
        ({"type": "heart_rate", "from": "2026-03-05T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "validation_error"),
        ({"type": "heart_rate", "bucket": "hour", "from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "range_too_large"),
    ],
)
async def test_invalid_trend_queries(api, make_patient, params, code):
    patient = await make_patient()
    resp = await api.get(f"/api/patients/{patient.id}/vitals", params=params, token=patient.access_token)
    assert resp.status == 422 and resp.error_code == code, resp.body
