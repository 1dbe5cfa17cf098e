"""Clinics, doctor profiles, weekly availability and slots in clinic local time (DST-correct)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from tests.booking_support import ALL_DAY
from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import last_sunday
from tests.booking_support import local_slot
from tests.booking_support import make_clinic
from tests.booking_support import make_scheduled_doctor
from tests.booking_support import unique


async def slots(api, token, doctor_id, first, last=None):
    resp = await api.get(f"/api/doctors/{doctor_id}/slots", params={"from": str(first), "to": str(last or first)}, token=token)
    assert resp.status == 200, resp.body
    return resp.body["slots"]


async def test_admin_creates_clinic_and_others_cannot(api, admin, make_patient, make_doctor):
    resp = await api.post("/api/admin/clinics", {"name": "North", "timezone": "Europe/Berlin", "phone": "+49 30 901820"}, token=admin.access_token)
    assert resp.status == 201
    clinic = resp.body["clinic"]
    assert clinic["timezone"] == "Europe/Berlin" and clinic["phone"] == "+4930901820" and clinic["address"] is None
    for account in (await make_patient(), await make_doctor()):
        resp = await api.post("/api/admin/clinics", {"name": "X", "timezone": "UTC"}, token=account.access_token)
        assert resp.status == 403 and resp.error_code == "forbidden"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "A", "timezone": "Mars/Base"}, "timezone"), ({"timezone": "UTC"}, "name"), ({"name": "A", "timezone": "UTC", "email": "nope"}, "email")],
)
async def test_clinic_validation(api, admin, body, field):
    resp = await api.post("/api/admin/clinics", body, token=admin.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == field


async def test_doctor_profile_by_self_or_admin_only(api, admin, make_doctor, make_patient):
    clinic = await make_clinic(api, admin, "America/New_York")
    doctor, other = await make_doctor(), await make_doctor()
    patient = await make_patient()
    body = {"clinic_id": clinic["id"], "specialties": ["  Cardiology ", "cardiology", "Sports  Medicine"], "bio": "Hearts.", "fee": 80}
    assert (await api.patch(f"/api/doctors/{doctor.id}", body, token=other.access_token)).status == 403
    assert (await api.patch(f"/api/doctors/{doctor.id}", body, token=patient.access_token)).status == 403
    # The doctor's clinic_id asks the clinic (tests/test_accounts_clinic_doctors.py); the admin's places them.
    resp = await api.patch(f"/api/doctors/{doctor.id}", body, token=admin.access_token)
    assert resp.status == 200, resp.body
    profile = resp.body["doctor"]
    assert profile["specialties"] == ["cardiology", "sports medicine"]
    assert profile["timezone"] == "America/New_York" and profile["clinic_name"] == clinic["name"]
    resp = await api.patch(f"/api/doctors/{doctor.id}", {"fee": 95}, token=doctor.access_token)
    assert resp.status == 200 and resp.body["doctor"]["fee"] == 95 and resp.body["doctor"]["bio"] == "Hearts."


async def test_doctor_profile_validation(api, admin, make_doctor):
    doctor = await make_doctor()
    clinic = await make_clinic(api, admin)
    resp = await api.patch(f"/api/doctors/{doctor.id}", {"specialties": ["x1"]}, token=doctor.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "clinic_id"
    resp = await api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": "0" * 24, "specialties": ["gp"]}, token=doctor.access_token)
    assert resp.status == 404 and resp.body["error"]["field"] == "clinic_id"
    resp = await api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinic["id"], "specialties": []}, token=doctor.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "specialties"
    resp = await api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinic["id"], "specialties": ["gp"], "fee": -1}, token=doctor.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "fee"
    resp = await api.patch(f"/api/doctors/{'f' * 24}", {"clinic_id": clinic["id"], "specialties": ["gp"]}, token=admin.access_token)
    assert resp.status == 404


@pytest.mark.parametrize(
    ("availability", "field"),
    [
        ({"slot_minutes": 7, "weekly": []}, "slot_minutes"),
        ({"slot_minutes": 30, "buffer_minutes": 3, "weekly": []}, "buffer_minutes"),
        ({"slot_minutes": 30, "weekly": [{"weekday": 7, "start": "09:00", "end": "10:00"}]}, "weekly.0.weekday"),
        ({"slot_minutes": 30, "weekly": [{"weekday": 0, "start": "9am", "end": "10:00"}]}, "weekly.0.start"),
        ({"slot_minutes": 30, "weekly": [{"weekday": 0, "start": "09:00", "end": "08:00"}]}, "weekly.0"),
        ({"slot_minutes": 30, "weekly": [{"weekday": 0, "start": "09:02", "end": "10:00"}]}, "weekly.0.start"),
        (
            {"slot_minutes": 30, "weekly": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "11:00", "end": "13:00"}]},
            "body",
        ),
        ({"slot_minutes": 30, "weekly": [], "exceptions": [{"date": "2026-13-01", "closed": True}]}, "exceptions.0.date"),
        ({"slot_minutes": 30, "weekly": [], "exceptions": [{"date": "2026-12-24"}]}, "exceptions.0"),
        ({"slot_minutes": 30, "weekly": [], "exceptions": [{"date": "2026-12-24", "closed": True, "start": "10:00", "end": "11:00"}]}, "exceptions.0"),
        ({"slot_minutes": 30, "weekly": [], "surprise": 1}, "surprise"),
    ],
)
async def test_availability_validation(api, admin, make_doctor, availability, field):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    resp = await api.put(f"/api/doctors/{doctor.id}/availability", availability, token=doctor.access_token)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["code"] == "validation_error"
    assert resp.body["error"]["field"] == field


async def test_availability_by_other_doctor_is_forbidden(api, admin, make_doctor, make_patient):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    other = await make_doctor()
    patient = await make_patient()
    body = {"slot_minutes": 30, "weekly": []}
    assert (await api.put(f"/api/doctors/{doctor.id}/availability", body, token=other.access_token)).status == 403
    assert (await api.put(f"/api/doctors/{doctor.id}/availability", body, token=patient.access_token)).status == 403
    assert (await api.put(f"/api/doctors/{doctor.id}/availability", body, token=admin.access_token)).status == 200


async def test_slots_follow_weekly_pattern_buffer_and_exceptions(api, admin, make_doctor, make_patient):
    day = future_day(5)
    closed, special = day + timedelta(days=1), day + timedelta(days=2)
    weekly = [{"weekday": d, "start": "09:00", "end": "11:00"} for d in range(7)]
    exceptions = [{"date": str(closed), "closed": True}, {"date": str(special), "start": "14:00", "end": "15:00"}]
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=weekly, slot_minutes=25, buffer_minutes=5, exceptions=exceptions)
    patient = await make_patient()
    found = await slots(api, patient.access_token, doctor.id, day, special)
    assert [s["start"] for s in found] == [
        local_slot(day, "09:00"),
        local_slot(day, "09:30"),
        local_slot(day, "10:00"),
        local_slot(day, "10:30"),
        local_slot(special, "14:00"),
        local_slot(special, "14:30"),
    ]
    assert found[0]["end"] == local_slot(day, "09:25")
    assert found[0]["timezone"] == "UTC" and found[0]["local_time"] == "09:00" and found[0]["doctor_id"] == doctor.id


async def test_booked_and_minimum_notice_slots_are_excluded(api, admin, make_doctor, make_patient):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY, slot_minutes=60)
    patient = await make_patient()
    now = datetime.now(UTC)
    today, tomorrow = now.date(), now.date() + timedelta(days=1)
    found = await slots(api, patient.access_token, doctor.id, today, tomorrow)
    starts = [datetime.fromisoformat(s["start"].replace("Z", "+00:00")) for s in found]
    # Default minimum notice: 60 minutes. Nothing earlier (and so nothing past) is offered.
    assert min(starts) >= now + timedelta(minutes=60)
    assert min(starts) < now + timedelta(minutes=121)
    taken = found[3]["start"]
    assert (await book(api, patient, doctor.id, taken)).status == 201
    after = await slots(api, patient.access_token, doctor.id, today, tomorrow)
    assert taken not in [s["start"] for s in after] and len(after) == len(found) - 1


async def test_berlin_slots_keep_local_hours_across_both_dst_sundays(api, admin, make_doctor, make_patient):
    """09:00 in Berlin is 08:00Z in winter and 07:00Z in summer; the switch happens on the last Sundays of March and October."""
    year = datetime.now(UTC).year + 1
    weekly = [{"weekday": d, "start": "09:00", "end": "10:00"} for d in range(7)]
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, timezone="Europe/Berlin", weekly=weekly, slot_minutes=30)
    patient = await make_patient()
    spring, autumn = last_sunday(year, 3), last_sunday(year, 10)
    found = await slots(api, patient.access_token, doctor.id, spring - timedelta(days=1), spring + timedelta(days=1))
    assert [s["start"] for s in found] == [
        f"{spring - timedelta(days=1)}T08:00:00Z",
        f"{spring - timedelta(days=1)}T08:30:00Z",
        f"{spring}T07:00:00Z",
        f"{spring}T07:30:00Z",
        f"{spring + timedelta(days=1)}T07:00:00Z",
        f"{spring + timedelta(days=1)}T07:30:00Z",
    ]
    assert {s["local_time"] for s in found} == {"09:00", "09:30"}
    assert found[2]["local_start"] == f"{spring}T09:00:00+02:00"
    found = await slots(api, patient.access_token, doctor.id, autumn - timedelta(days=1), autumn + timedelta(days=1))
    assert [s["start"] for s in found][::2] == [f"{autumn - timedelta(days=1)}T07:00:00Z", f"{autumn}T08:00:00Z", f"{autumn + timedelta(days=1)}T08:00:00Z"]
    assert found[2]["local_start"] == f"{autumn}T09:00:00+01:00"


async def test_berlin_night_window_through_the_changes_has_real_length_slots(api, admin, make_doctor, make_patient):
    """01:00-04:00 local lasts 2 real hours in March (02:00 does not exist) and 4 in October (02:00 happens twice)."""
    year = datetime.now(UTC).year + 1
    spring, autumn = last_sunday(year, 3), last_sunday(year, 10)
    weekly = [{"weekday": 6, "start": "01:00", "end": "04:00"}]
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, timezone="Europe/Berlin", weekly=weekly, slot_minutes=60)
    patient = await make_patient()
    found = await slots(api, patient.access_token, doctor.id, spring)
    assert [(s["start"], s["local_time"]) for s in found] == [(f"{spring}T00:00:00Z", "01:00"), (f"{spring}T01:00:00Z", "03:00")]
    found = await slots(api, patient.access_token, doctor.id, autumn)
    assert [s["local_start"] for s in found] == [
        f"{autumn}T01:00:00+02:00",
        f"{autumn}T02:00:00+02:00",
        f"{autumn}T02:00:00+01:00",
        f"{autumn}T03:00:00+01:00",
    ]
    # Each of the two 02:00 slots is bookable on its own.
    assert (await book(api, patient, doctor.id, found[1]["start"])).status == 201
    other = await make_patient()
    assert (await book(api, other, doctor.id, found[2]["start"])).status == 201


async def test_new_york_clinic_and_patient_in_another_timezone(api, admin, make_doctor, make_patient):
    """Slots are clinic-local (New York); a Tokyo patient books the same UTC instant and sees it back unchanged."""
    year = datetime.now(UTC).year + 1
    weekly = [{"weekday": d, "start": "08:00", "end": "09:00"} for d in range(7)]
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, timezone="America/New_York", weekly=weekly, slot_minutes=60)
    patient = await make_patient(timezone="Asia/Tokyo")
    january, july = f"{year}-01-15", f"{year}-07-15"
    assert [s["start"] for s in await slots(api, patient.access_token, doctor.id, january)] == [f"{january}T13:00:00Z"]
    (summer,) = await slots(api, patient.access_token, doctor.id, july)
    assert summer["start"] == f"{july}T12:00:00Z" and summer["local_start"] == f"{july}T08:00:00-04:00"
    assert summer["timezone"] == "America/New_York"
    # The Tokyo patient sends the instant in their own offset: 21:00 in Tokyo is 08:00 in New York.
    resp = await book(api, patient, doctor.id, f"{july}T21:00:00+09:00")
    assert resp.status == 201, resp.body
    appointment = resp.body["appointment"]
    assert appointment["start"] == f"{july}T12:00:00Z" and appointment["local_start"] == f"{july}T08:00:00-04:00"
    assert appointment["timezone"] == "America/New_York"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "2026-02-30", "to": "2026-03-01"}, "from"), ({"from": "tomorrow", "to": "2026-03-01"}, "from"), ({"from": "2026-03-02", "to": "2026-03-01"}, "body"), ({"from": "2026-01-01", "to": "2026-06-01"}, "body"), ({"from": "2026-01-01"}, "to")],
)
async def test_slot_range_validation(api, admin, make_doctor, make_patient, params, field):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    resp = await api.get(f"/api/doctors/{doctor.id}/slots", params=params, token=patient.access_token)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["field"] == field


async def test_slots_of_unknown_doctor_is_404(api, make_patient):
    patient = await make_patient()
    for doctor_id in ("0" * 24, "nope"):
        resp = await api.get(f"/api/doctors/{doctor_id}/slots", params={"from": "2030-01-01", "to": "2030-01-01"}, token=patient.access_token)
        assert resp.status == 404 and resp.error_code == "not_found"


async def test_browse_specialties_and_doctors(api, admin, make_doctor, make_patient):
    specialty = unique("dermatology")
    clinic = await make_clinic(api, admin)
    first, _ = await make_scheduled_doctor(api, admin, make_doctor, clinic=clinic, specialties=[specialty])
    second, _ = await make_scheduled_doctor(api, admin, make_doctor, specialties=[specialty, unique("other")])
    patient = await make_patient()
    resp = await api.get("/api/specialties", token=patient.access_token)
    assert {"slug": None, "name": specialty, "doctors": 2} in resp.body["specialties"]  # free text: no catalogue slug
    resp = await api.get("/api/doctors", params={"specialty": specialty.upper()}, token=patient.access_token)
    assert sorted(d["id"] for d in resp.body["doctors"]) == sorted([first.id, second.id])
    resp = await api.get("/api/doctors", params={"specialty": specialty, "clinic_id": clinic["id"]}, token=patient.access_token)
    assert [d["id"] for d in resp.body["doctors"]] == [first.id]
    assert (await api.get("/api/doctors", params={"clinic_id": "zz"}, token=patient.access_token)).status == 422
    assert (await api.get("/api/doctors")).status == 401
