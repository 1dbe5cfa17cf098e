"""Diagnostic test centres: hourly slots with a capacity, front-desk tokens, the same booking engine."""

from __future__ import annotations

import asyncio
import uuid

from bson import ObjectId

from engage.models.appointment import Appointment
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.booking_support import make_clinic
from tests.booking_support import make_patients
from tests.booking_support import validate_event

WEEKLY = [{"weekday": d, "start": "08:00", "end": "11:00"} for d in range(7)]


async def make_centre(api, admin, kind: str = "blood_test", capacity: int = 2, timezone: str = "Europe/Berlin") -> dict:
    clinic = await make_clinic(api, admin, timezone)
    body = {"name": f"Lab {uuid.uuid4().hex[:6]}", "kind": kind, "clinic_id": clinic["id"], "capacity": capacity, "weekly": WEEKLY}
    resp = await api.post("/api/admin/test-centres", body, token=admin.access_token)
    assert resp.status == 201, resp.body
    return resp.body["test_centre"]


async def book_test(api, patient, centre_id: str, start: str):
    return await api.post("/api/appointments", {"test_centre_id": centre_id, "start": start, "client_id": uuid.uuid4().hex}, token=patient.access_token)


async def test_hourly_slots_with_capacity_and_tokens(api, admin, make_patient, connect, db):
    centre = await make_centre(api, admin, capacity=2)
    assert centre["availability"]["slot_minutes"] == 60 and centre["timezone"] == "Europe/Berlin"
    first, second, third = await make_patients(make_patient, 3)
    day = future_day(3)
    resp = await api.get(f"/api/test-centres/{centre['id']}/slots", params={"from": str(day), "to": str(day)}, token=first.access_token)
    assert [(s["local_time"], s["remaining"]) for s in resp.body["slots"]] == [("08:00", 2), ("09:00", 2), ("10:00", 2)]
    start = local_slot(day, "09:00", "Europe/Berlin")
    watcher = await connect(third.access_token)
    assert (await watcher.call("schedule:watch", {"test_centre_id": centre["id"]}))["ok"] is True

    one = await book_test(api, first, centre["id"], start)
    assert one.status == 201, one.body
    taken = await watcher.wait_for("slot:taken")
    validate_event("slot:taken", taken)
    assert taken["test_centre_id"] == centre["id"] and taken["doctor_id"] is None and taken["remaining"] == 1
    two = await book_test(api, second, centre["id"], start)
    assert two.status == 201
    tokens = {one.body["appointment"]["token"], two.body["appointment"]["token"]}
    assert len(tokens) == 2 and all(len(t) == 9 and t[4] == "-" for t in tokens)
    assert one.body["appointment"]["kind"] == "diagnostic" and one.body["appointment"]["doctor_id"] is None

    full = await book_test(api, third, centre["id"], start)
    assert full.status == 409 and full.error_code == "slot_taken"
    assert [a["local_time"] for a in full.body["alternatives"][:2]] in (["08:00", "10:00"], ["10:00", "08:00"])
    resp = await api.get(f"/api/test-centres/{centre['id']}/slots", params={"from": str(day), "to": str(day)}, token=first.access_token)
    assert [(s["local_time"], s["remaining"]) for s in resp.body["slots"]] == [("08:00", 2), ("10:00", 2)]

    # The front desk finds a booking by its token.
    token = one.body["appointment"]["token"]
    found = await api.get(f"/api/appointments/by-token/{token.lower()}", token=admin.access_token)
    assert found.status == 200 and found.body["appointment"]["id"] == one.body["appointment"]["id"]
    assert (await api.get(f"/api/appointments/by-token/{token}", token=first.access_token)).status == 403
    assert (await api.get("/api/appointments/by-token/ZZZZ-ZZZZ", token=admin.access_token)).status == 404

    # Cancelling frees one seat, and the watcher hears it.
    resp = await api.post(f"/api/appointments/{one.body['appointment']['id']}/cancel", {}, token=first.access_token)
    assert resp.status == 200
    freed = await watcher.wait_for("slot:freed")
    assert freed["remaining"] == 1
    assert (await book_test(api, third, centre["id"], start)).status == 201


async def test_concurrent_bookings_fill_exactly_the_capacity(api, admin, make_patient, db):
    centre = await make_centre(api, admin, kind="mri", capacity=3, timezone="UTC")
    patients = await make_patients(make_patient, 12)
    start = local_slot(future_day(4), "10:00")
    results = await asyncio.gather(*[book_test(api, p, centre["id"], start) for p in patients])
    assert sorted(r.status for r in results) == [201] * 3 + [409] * 9
    stored = await Appointment.find({"test_centre_id": ObjectId(centre["id"]), "holds_slot": True}).to_list()
    assert sorted(a.seat for a in stored) == [0, 1, 2]


async def test_same_kind_centres_are_alternatives(api, admin, make_patient):
    lab = await make_centre(api, admin, kind="ct", capacity=1, timezone="UTC")
    other = await make_centre(api, admin, kind="ct", capacity=1, timezone="UTC")
    first, second = await make_patients(make_patient, 2)
    start = local_slot(future_day(5), "09:00")
    assert (await book_test(api, first, lab["id"], start)).status == 201
    resp = await book_test(api, second, lab["id"], start)
    assert resp.status == 409
    assert {"test_centre_id": other["id"], "start": start} in [{"test_centre_id": a["test_centre_id"], "start": a["start"]} for a in resp.body["alternatives"]]
    listed = await api.get("/api/test-centres", params={"kind": "ct"}, token=first.access_token)
    assert {lab["id"], other["id"]} <= {c["id"] for c in listed.body["test_centres"]}


async def test_test_centre_validation(api, admin, make_patient):
    clinic = await make_clinic(api, admin)
    base = {"name": "Lab", "kind": "xray", "clinic_id": clinic["id"], "capacity": 2, "weekly": WEEKLY}
    for override, field in (({"kind": "dentist"}, "kind"), ({"capacity": 0}, "capacity"), ({"clinic_id": "1" * 24}, "clinic_id")):
        resp = await api.post("/api/admin/test-centres", {**base, **override}, token=admin.access_token)
        assert resp.status in (404, 422) and resp.body["error"]["field"] == field, resp.body
    patient = await make_patient()
    assert (await api.post("/api/admin/test-centres", base, token=patient.access_token)).status == 403
    assert (await api.get("/api/test-centres", params={"kind": "dentist"}, token=patient.access_token)).status == 422
