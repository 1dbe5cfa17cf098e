"""Booking: atomic, idempotent, conflicts with alternatives, reschedule, cancel, statuses, access, realtime."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from bson import ObjectId

from engage.models.appointment import Appointment
from engage.models.audit import AuditEvent
from tests.booking_support import ALL_DAY
from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import iso
from tests.booking_support import local_slot
from tests.booking_support import make_patients
from tests.booking_support import make_scheduled_doctor
from tests.booking_support import parse
from tests.booking_support import unique
from tests.booking_support import validate_event


async def test_patient_books_a_slot(api, admin, make_doctor, make_patient, db):
    doctor, profile = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    start = local_slot(future_day(), "10:00")
    resp = await book(api, patient, doctor.id, start, reason="Check-up")
    assert resp.status == 201, resp.body
    appointment = resp.body["appointment"]
    assert appointment["status"] == "booked" and appointment["start"] == start and appointment["end"] == local_slot(future_day(), "10:30")
    assert appointment["doctor_id"] == doctor.id and appointment["patient_id"] == patient.id and appointment["clinic_id"] == profile["clinic_id"]
    assert appointment["reason"] == "Check-up" and appointment["kind"] == "consultation" and len(appointment["token"]) == 9
    stored = await Appointment.get(appointment["id"])
    # The contract fields other capabilities read.
    assert str(stored.patient_id) == patient.id and str(stored.doctor_id) == doctor.id and str(stored.clinic_id) == profile["clinic_id"]
    assert stored.start == parse(start) and stored.status == "booked" and stored.holds_slot is True


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("10:10", "not_on_slot_boundary"),
        ("10:00:30", "not_on_slot_boundary"),
        ("18:00", "outside_availability"),
        ("past", "slot_in_past"),
        ("soon", "inside_minimum_notice"),
    ],
)
async def test_start_must_be_a_bookable_slot(api, admin, make_doctor, make_patient, start, code):
    weekly = ALL_DAY if start in ("past", "soon") else None
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=weekly, slot_minutes=30)
    patient = await make_patient()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    if start == "past":
        value = iso(now.replace(minute=0) - timedelta(hours=2))
    elif start == "soon":
        value = iso(now.replace(minute=0) + timedelta(minutes=30 if now.minute < 30 else 60))
    elif start.count(":") == 2:
        value = local_slot(future_day(), "10:00").replace(":00Z", ":30Z")
    else:
        value = local_slot(future_day(), start)
    resp = await book(api, patient, doctor.id, value)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["code"] == code and resp.body["error"]["field"] == "start"


@pytest.mark.parametrize(
    ("override", "status", "field"),
    [
        ({"doctor_id": "0" * 24}, 404, "doctor_id"),
        ({"doctor_id": "not-an-id"}, 422, "doctor_id"),
        ({"start": "2030-02-30T10:00:00Z"}, 422, "start"),
        ({"start": "next tuesday"}, 422, "start"),
        ({"start": "2030-01-01T10:00:00"}, 422, "start"),
        ({"client_id": ""}, 422, "client_id"),
        ({"client_id": None}, 422, "client_id"),
        ({"test_centre_id": "0" * 24}, 422, "body"),
        ({"reason": "x" * 501}, 422, "reason"),
        ({"extra": 1}, 422, "extra"),
    ],
)
async def test_booking_validation_errors(api, admin, make_doctor, make_patient, override, status, field):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    body = {"doctor_id": doctor.id, "start": local_slot(future_day(), "10:00"), "client_id": uuid.uuid4().hex, **override}
    body = {k: v for k, v in body.items() if v is not None}
    resp = await api.post("/api/appointments", body, token=patient.access_token)
    assert resp.status == status, resp.body
    assert resp.body["error"]["field"] == field


async def test_retry_with_same_client_id_returns_the_same_appointment(api, admin, make_doctor, make_patient, db):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    start = local_slot(future_day(), "11:00")
    first, again = await asyncio.gather(book(api, patient, doctor.id, start, "retry-1"), book(api, patient, doctor.id, start, "retry-1"))
    assert first.status == again.status == 201
    assert first.body["appointment"]["id"] == again.body["appointment"]["id"]
    assert await Appointment.find({"patient_id": ObjectId(patient.id)}).count() == 1
    other = await book(api, patient, doctor.id, local_slot(future_day(), "12:00"), "retry-1")
    assert other.status == 409 and other.error_code == "client_id_reused"


async def test_patient_cannot_hold_overlapping_appointments(api, admin, make_doctor, make_patient):
    first, _ = await make_scheduled_doctor(api, admin, make_doctor, slot_minutes=60)
    second, _ = await make_scheduled_doctor(api, admin, make_doctor, slot_minutes=30)
    patient = await make_patient()
    day = future_day()
    assert (await book(api, patient, first.id, local_slot(day, "10:00"))).status == 201
    resp = await book(api, patient, second.id, local_slot(day, "10:30"))
    assert resp.status == 409 and resp.error_code == "patient_overlap"
    assert (await book(api, patient, second.id, local_slot(day, "11:00"))).status == 201


async def test_fifty_concurrent_bookings_of_one_slot(api, admin, make_doctor, make_patient, connect, db):
    """Exactly one 201; 49 get 409 slot_taken with at least 3 alternatives, and a booking:conflict push."""
    specialty = unique("cardiology")
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, specialties=[specialty])
    peer, _ = await make_scheduled_doctor(api, admin, make_doctor, specialties=[specialty])
    patients = await make_patients(make_patient, 50)
    watcher = await connect(patients[0].access_token)
    start = local_slot(future_day(), "10:00")
    results = await asyncio.gather(*[book(api, p, doctor.id, start) for p in patients])
    assert sorted(r.status for r in results) == [201] + [409] * 49
    for resp in results:
        if resp.status == 409:
            assert resp.error_code == "slot_taken"
            alternatives = resp.body["alternatives"]
            assert len(alternatives) >= 3
            assert start not in [a["start"] for a in alternatives if a["doctor_id"] == doctor.id]
            own = [a for a in alternatives if a["doctor_id"] == doctor.id]
            assert [a["start"] for a in own[:2]] in (
                [local_slot(future_day(), "09:30"), local_slot(future_day(), "10:30")],
                [local_slot(future_day(), "10:30"), local_slot(future_day(), "09:30")],
            )
            assert {"doctor_id": peer.id, "start": start} in [{"doctor_id": a["doctor_id"], "start": a["start"]} for a in alternatives]
    assert await Appointment.find({"doctor_id": ObjectId(doctor.id), "holds_slot": True}).count() == 1
    winner = next(p for p, r in zip(patients, results) if r.status == 201)
    if winner.id != patients[0].id:
        conflict = await watcher.wait_for("booking:conflict")
        validate_event("booking:conflict", conflict)
        assert conflict["start"] == start and conflict["doctor_id"] == doctor.id and len(conflict["alternatives"]) >= 3


async def test_watchers_see_slot_taken_and_freed_and_doctor_gets_appointment_events(api, admin, make_doctor, make_patient, connect, web2):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    browser = await make_patient()
    # The watcher sits on the second web process: events cross processes through Redis.
    watch = await connect(browser.access_token, "websocket", url=web2.url)
    ack = await watch.call("schedule:watch", {"doctor_id": doctor.id})
    assert ack["ok"] is True and ack["timezone"] == "UTC"
    doctor_socket = await connect(doctor.access_token, "polling")
    start = local_slot(future_day(), "13:00")
    resp = await book(api, patient, doctor.id, start)
    appointment = resp.body["appointment"]
    taken = await watch.wait_for("slot:taken")
    validate_event("slot:taken", taken)
    assert taken == {"doctor_id": doctor.id, "test_centre_id": None, "start": start, "end": local_slot(future_day(), "13:30"), "remaining": None}
    booked = await doctor_socket.wait_for("appointment:booked")
    validate_event("appointment:booked", booked)
    assert booked["appointment"]["id"] == appointment["id"]

    new_start = local_slot(future_day(), "14:00")
    resp = await api.post(f"/api/appointments/{appointment['id']}/reschedule", {"start": new_start}, token=patient.access_token)
    assert resp.status == 200 and resp.body["appointment"]["start"] == new_start
    moved = await doctor_socket.wait_for("appointment:rescheduled")
    validate_event("appointment:rescheduled", moved)
    assert moved["previous_start"] == start and moved["appointment"]["start"] == new_start
    freed = await watch.wait_for("slot:freed", lambda e: e["start"] == start)
    validate_event("slot:freed", freed)
    await watch.wait_for("slot:taken", lambda e: e["start"] == new_start)

    resp = await api.post(f"/api/appointments/{appointment['id']}/cancel", {"reason": "Feeling better"}, token=patient.access_token)
    assert resp.status == 200 and resp.body["appointment"]["status"] == "cancelled"
    assert resp.body["appointment"]["cancelled_by"] == "patient" and resp.body["appointment"]["cancel_reason"] == "Feeling better"
    cancelled = await doctor_socket.wait_for("appointment:cancelled")
    validate_event("appointment:cancelled", cancelled)
    await watch.wait_for("slot:freed", lambda e: e["start"] == new_start)
    # Free again: someone else can book both.
    assert (await book(api, browser, doctor.id, new_start)).status == 201
    assert (await watch.call("schedule:watch", {"doctor_id": "0" * 24}))["error"]["code"] == "not_found"
    assert (await watch.call("schedule:watch", {}))["error"]["code"] == "validation_error"


async def test_reschedule_onto_a_taken_slot_is_409_with_alternatives(api, admin, make_doctor, make_patient):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    first, second = await make_patient(), await make_patient()
    day = future_day()
    mine = (await book(api, first, doctor.id, local_slot(day, "10:00"))).body["appointment"]
    assert (await book(api, second, doctor.id, local_slot(day, "11:00"))).status == 201
    resp = await api.post(f"/api/appointments/{mine['id']}/reschedule", {"start": local_slot(day, "11:00")}, token=first.access_token)
    assert resp.status == 409 and resp.error_code == "slot_taken" and len(resp.body["alternatives"]) >= 3
    for value, code in ((local_slot(day, "11:10"), "not_on_slot_boundary"), (local_slot(day, "20:00"), "outside_availability")):
        resp = await api.post(f"/api/appointments/{mine['id']}/reschedule", {"start": value}, token=first.access_token)
        assert resp.status == 422 and resp.error_code == code
    resp = await api.post(f"/api/appointments/{mine['id']}/reschedule", {"start": "soon"}, token=first.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "start"
    # The doctor may move it too; the old slot is free again afterwards.
    resp = await api.post(f"/api/appointments/{mine['id']}/reschedule", {"start": local_slot(day, "12:00")}, token=doctor.access_token)
    assert resp.status == 200
    assert (await book(api, second, doctor.id, local_slot(day, "10:00"))).status == 201


async def test_cancel_cutoff_applies_to_patients_not_to_doctors(api, admin, make_doctor, make_patient):
    """Default cutoff 120 min: a patient cannot cancel an appointment 90 minutes away; the doctor can."""
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY, slot_minutes=30)
    patient = await make_patient()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    soon = now.replace(minute=0) + timedelta(minutes=90 if now.minute < 30 else 120)
    appointment = (await book(api, patient, doctor.id, iso(soon))).body["appointment"]
    resp = await api.post(f"/api/appointments/{appointment['id']}/cancel", {}, token=patient.access_token)
    assert resp.status == 409 and resp.error_code == "too_late"
    resp = await api.post(f"/api/appointments/{appointment['id']}/reschedule", {"start": iso(soon + timedelta(days=1))}, token=patient.access_token)
    assert resp.status == 409 and resp.error_code == "too_late"
    resp = await api.post(f"/api/appointments/{appointment['id']}/cancel", {}, token=doctor.access_token)
    assert resp.status == 200 and resp.body["appointment"]["cancelled_by"] == "doctor"
    again = await api.post(f"/api/appointments/{appointment['id']}/cancel", {}, token=admin.access_token)
    assert again.status == 200 and again.body["appointment"]["cancelled_by"] == "doctor"
    resp = await api.post(f"/api/appointments/{appointment['id']}/reschedule", {"start": iso(soon + timedelta(days=1))}, token=doctor.access_token)
    assert resp.status == 409 and resp.error_code == "appointment_not_active"


async def test_access_rules(api, admin, make_doctor, make_patient, db):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    other_doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient, stranger = await make_patient(), await make_patient()
    start = local_slot(future_day(), "15:00")
    # Doctors do not book; admins book for a named patient.
    assert (await book(api, doctor, doctor.id, start)).status == 403
    resp = await book(api, admin, doctor.id, start)
    assert resp.status == 422 and resp.body["error"]["field"] == "patient_id"
    resp = await book(api, admin, doctor.id, start, patient_id=stranger.id[::-1])
    assert resp.status == 404
    resp = await book(api, stranger, doctor.id, start, patient_id=patient.id)
    assert resp.status == 422 and resp.body["error"]["field"] == "patient_id"
    resp = await book(api, admin, doctor.id, start, patient_id=patient.id)
    assert resp.status == 201 and resp.body["appointment"]["patient_id"] == patient.id
    appointment_id = resp.body["appointment"]["id"]
    assert await AuditEvent.find({"actor_id": ObjectId(admin.id), "resource": f"appointment:{appointment_id}"}).count() == 1

    for outsider in (stranger, other_doctor):
        assert (await api.get(f"/api/appointments/{appointment_id}", token=outsider.access_token)).status == 404
        assert (await api.post(f"/api/appointments/{appointment_id}/cancel", {}, token=outsider.access_token)).status == 404
        resp = await api.post(f"/api/appointments/{appointment_id}/reschedule", {"start": local_slot(future_day(), "16:00")}, token=outsider.access_token)
        assert resp.status == 404
    assert (await api.get(f"/api/appointments/{appointment_id}", token=doctor.access_token)).status == 200
    assert (await api.get("/api/appointments/nonsense", token=patient.access_token)).status == 404

    mine = await api.get("/api/appointments", token=patient.access_token)
    assert [a["id"] for a in mine.body["appointments"]] == [appointment_id]
    assert (await api.get("/api/appointments", token=stranger.access_token)).body["appointments"] == []
    assert [a["id"] for a in (await api.get("/api/appointments", token=doctor.access_token)).body["appointments"]] == [appointment_id]
    assert (await api.get("/api/appointments", token=other_doctor.access_token)).body["appointments"] == []
    assert (await api.get("/api/appointments", params={"status": "bogus"}, token=patient.access_token)).status == 422
    assert (await api.get("/api/appointments")).status == 401


async def test_statuses(api, admin, make_doctor, make_patient, connect):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    appointment = (await book(api, patient, doctor.id, local_slot(future_day(), "09:00"))).body["appointment"]
    doctor_socket = await connect(doctor.access_token)
    resp = await api.post(f"/api/appointments/{appointment['id']}/confirm", token=patient.access_token)
    assert resp.status == 200 and resp.body["appointment"]["status"] == "confirmed" and resp.body["appointment"]["confirmed_at"]
    validate_event("appointment:confirmed", await doctor_socket.wait_for("appointment:confirmed"))
    # Completed / no-show only once it started, only by the doctor or an admin.
    resp = await api.post(f"/api/appointments/{appointment['id']}/status", {"status": "completed"}, token=doctor.access_token)
    assert resp.status == 409 and resp.error_code == "appointment_not_started"
    resp = await api.post(f"/api/appointments/{appointment['id']}/status", {"status": "completed"}, token=patient.access_token)
    assert resp.status == 403
    resp = await api.post(f"/api/appointments/{appointment['id']}/status", {"status": "cancelled"}, token=doctor.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "status"
    listed = await api.get("/api/appointments", params={"status": "confirmed", "upcoming": "true"}, token=patient.access_token)
    assert [a["id"] for a in listed.body["appointments"]] == [appointment["id"]]
