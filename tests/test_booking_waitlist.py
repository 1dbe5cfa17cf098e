"""Waitlist: a freed slot is held for the first waiting patient, then handed to the next when unclaimed."""

from __future__ import annotations

from datetime import timedelta

from bson import ObjectId

from engage.models.appointment import Appointment
from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.booking_support import make_scheduled_doctor
from tests.booking_support import validate_event


async def join(api, patient, doctor_id: str, day) -> dict:
    resp = await api.post(
        "/api/waitlist", {"doctor_id": doctor_id, "from": local_slot(day, "00:00"), "to": local_slot(day + timedelta(days=1), "00:00")}, token=patient.access_token
    )
    assert resp.status == 201, resp.body
    return resp.body["entry"]


async def test_unclaimed_offer_passes_to_the_next_patient(api, admin, make_doctor, make_patient, connect, db, worker):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    holder, first, second, walk_in = [await make_patient() for _ in range(4)]
    day = future_day(3)
    start = local_slot(day, "10:00")
    appointment = (await book(api, holder, doctor.id, start)).body["appointment"]
    first_entry = await join(api, first, doctor.id, day)
    second_entry = await join(api, second, doctor.id, day)
    first_socket, second_socket = await connect(first.access_token), await connect(second.access_token)
    watcher = await connect(walk_in.access_token)
    await watcher.call("schedule:watch", {"doctor_id": doctor.id})

    assert (await api.post(f"/api/appointments/{appointment['id']}/cancel", {}, token=holder.access_token)).status == 200
    offer = await first_socket.wait_for("waitlist:offer")
    validate_event("waitlist:offer", offer)
    assert offer["entry_id"] == first_entry["id"] and offer["start"] == start and offer["doctor_id"] == doctor.id
    # While held, nobody else can take the slot, and watchers were not told it is free.
    resp = await book(api, walk_in, doctor.id, start)
    assert resp.status == 409 and resp.error_code == "slot_taken"
    assert watcher.received("slot:freed") == []
    listed = (await api.get("/api/waitlist", token=first.access_token)).body["entries"]
    assert listed[0]["status"] == "offered" and listed[0]["offer_start"] == start

    # The first patient lets it lapse (ENGAGE_OFFER_HOLD_MINUTES=0.1 in tests): the second gets it.
    offer = await second_socket.wait_for("waitlist:offer", timeout=40)
    assert offer["entry_id"] == second_entry["id"] and offer["start"] == start
    resp = await api.post(f"/api/waitlist/{first_entry['id']}/accept", token=first.access_token)
    assert resp.status == 409 and resp.error_code == "no_offer"
    resp = await api.post(f"/api/waitlist/{second_entry['id']}/accept", token=second.access_token)
    assert resp.status == 201, resp.body
    booked = resp.body["appointment"]
    assert booked["patient_id"] == second.id and booked["start"] == start and booked["status"] == "booked"
    active = await Appointment.find({"doctor_id": ObjectId(doctor.id), "holds_slot": True}).to_list()
    assert [(str(a.patient_id), a.status) for a in active] == [(second.id, "booked")]
    entries = {e["id"]: e for e in (await api.get("/api/waitlist", token=first.access_token)).body["entries"]}
    assert entries[first_entry["id"]]["status"] == "waiting"  # still waiting for another slot
    assert (await api.get("/api/waitlist", token=second.access_token)).body["entries"][0]["status"] == "booked"
    mine = (await api.get("/api/appointments", token=second.access_token)).body["appointments"]
    assert [a["id"] for a in mine] == [booked["id"]]


async def test_declined_offer_goes_to_the_next_at_once_and_frees_when_nobody_waits(api, admin, make_doctor, make_patient, connect, db):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    holder, waiting, walk_in = [await make_patient() for _ in range(3)]
    day = future_day(3)
    start = local_slot(day, "11:00")
    appointment = (await book(api, holder, doctor.id, start)).body["appointment"]
    entry = await join(api, waiting, doctor.id, day)
    socket = await connect(waiting.access_token)
    watcher = await connect(walk_in.access_token)
    await watcher.call("schedule:watch", {"doctor_id": doctor.id})
    await api.post(f"/api/appointments/{appointment['id']}/cancel", {}, token=holder.access_token)
    await socket.wait_for("waitlist:offer")
    resp = await api.post(f"/api/waitlist/{entry['id']}/decline", token=waiting.access_token)
    assert resp.status == 200 and resp.body["entry"]["status"] == "waiting"
    freed = await watcher.wait_for("slot:freed")
    assert freed["start"] == start
    assert (await book(api, walk_in, doctor.id, start)).status == 201


async def test_waitlist_validation_and_access(api, admin, make_doctor, make_patient):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient, other = await make_patient(), await make_patient()
    day = future_day(3)
    cases = [
        ({"doctor_id": "0" * 24, "from": local_slot(day, "00:00"), "to": local_slot(day, "12:00")}, 404, "doctor_id"),
        ({"doctor_id": doctor.id, "from": local_slot(day, "12:00"), "to": local_slot(day, "00:00")}, 422, "body"),
        ({"doctor_id": doctor.id, "from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}, 422, "to"),
        ({"doctor_id": doctor.id, "from": "yesterday", "to": local_slot(day, "12:00")}, 422, "from"),
    ]
    for body, status, field in cases:
        resp = await api.post("/api/waitlist", body, token=patient.access_token)
        assert resp.status == status and resp.body["error"]["field"] == field, resp.body
    assert (await api.post("/api/waitlist", cases[0][0], token=doctor.access_token)).status == 403
    entry = await join(api, patient, doctor.id, day)
    assert (await api.post(f"/api/waitlist/{entry['id']}/accept", token=other.access_token)).status == 404
    resp = await api.post(f"/api/waitlist/{entry['id']}/cancel", token=patient.access_token)
    assert resp.status == 200 and resp.body["entry"]["status"] == "cancelled"
