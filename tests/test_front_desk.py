"""The front desk: a clinic's receptionist books, moves, cancels and checks in appointments for the
clinic's patients through the one booking engine, finds patients and diagnostics bookings by token,
sees only their own clinic, and every patient they see or touch is audited."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from bson import ObjectId

from engage.models.appointment import Appointment
from engage.models.audit import AuditEvent
from engage.models.notification import Notification
from tests.booking_support import ALL_DAY
from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import iso
from tests.booking_support import local_slot
from tests.booking_support import parse
from tests.booking_support import validate_event
from tests.front_desk_support import desk_book
from tests.front_desk_support import later_today
from tests.front_desk_support import make_desk
from tests.waiting import wait_until


async def audited(actor_id: str, subject_id: str, action: str) -> list[AuditEvent]:
    return await AuditEvent.find({"actor_id": ObjectId(actor_id), "subject_id": ObjectId(subject_id), "action": action}).to_list()


def named(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


async def test_a_desk_booking_notifies_the_patient_and_takes_the_slot(api, admin, make_doctor, make_patient, connect, db, worker):
    """The patient gets the booking event and the booking email; schedule watchers see the slot go."""
    desk = await make_desk(api, admin, make_doctor)
    patient = await make_patient(name=named("Nora"))
    mine = await connect(patient.access_token)
    watcher = await connect((await make_patient()).access_token)
    assert (await watcher.call("schedule:watch", {"doctor_id": desk.doctor.id}))["ok"] is True
    start = local_slot(future_day(3), "10:00", desk.clinic["timezone"])

    resp = await desk_book(api, desk, patient.id, start, reason="Follow-up")
    assert resp.status == 201, resp.body
    appointment = resp.body["appointment"]
    assert appointment["patient_id"] == patient.id and appointment["patient_name"] == patient.name and appointment["status"] == "booked"

    booked = await mine.wait_for("appointment:booked", lambda e: e["appointment"]["id"] == appointment["id"])
    validate_event("appointment:booked", booked)
    taken = await watcher.wait_for("slot:taken", lambda e: parse(e["start"]) == parse(start))
    validate_event("slot:taken", taken)
    listed = await api.get("/api/appointments", token=patient.access_token)
    assert appointment["id"] in {a["id"] for a in listed.body["appointments"]}
    email = await wait_until(
        lambda: Notification.find_one({"recipient_id": ObjectId(patient.id), "kind": "appointment_booked", "channel": "email"}), what="booking email"
    )
    assert email.idempotency_key.startswith(f"appointment:{appointment['id']}:")
    assert len(await audited(desk.receptionist.id, patient.id, "appointment.book")) == 1


async def test_a_desk_booking_and_a_patient_booking_race_for_one_slot(api, admin, make_doctor, make_patient, db):
    """Whoever inserts first wins; the other gets 409 slot_taken, and one appointment holds the slot."""
    desk = await make_desk(api, admin, make_doctor)
    walk_in, online = await make_patient(), await make_patient()
    start = local_slot(future_day(4), "11:30", desk.clinic["timezone"])
    results = await asyncio.gather(desk_book(api, desk, walk_in.id, start), book(api, online, desk.doctor.id, start))
    assert sorted(r.status for r in results) == [201, 409]
    assert next(r for r in results if r.status == 409).error_code == "slot_taken"
    holding = await Appointment.find({"resource_id": ObjectId(desk.doctor.id), "start": parse(start), "holds_slot": True}).to_list()
    assert len(holding) == 1


async def test_the_desk_checks_a_patient_in_on_the_day(api, admin, make_doctor, make_patient, connect, db):
    desk = await make_desk(api, admin, make_doctor)
    patient = await make_patient()
    mine = await connect(patient.access_token)
    today = (await desk_book(api, desk, patient.id, later_today())).body["appointment"]
    another_day = (await desk_book(api, desk, patient.id, local_slot(future_day(5), "09:00", desk.clinic["timezone"]))).body["appointment"]

    resp = await api.post(f"{desk.base}/appointments/{today['id']}/check-in", token=desk.receptionist.access_token)
    assert resp.status == 200, resp.body
    assert resp.body["appointment"]["status"] == "checked_in" and resp.body["appointment"]["checked_in_at"]
    event = await mine.wait_for("appointment:status", lambda e: e["appointment"]["id"] == today["id"])
    validate_event("appointment:status", event)
    assert event["appointment"]["status"] == "checked_in"
    again = await api.post(f"{desk.base}/appointments/{today['id']}/check-in", token=desk.receptionist.access_token)
    assert again.status == 200 and again.body["appointment"]["status"] == "checked_in"
    early = await api.post(f"{desk.base}/appointments/{another_day['id']}/check-in", token=desk.receptionist.access_token)
    assert early.status == 409 and early.error_code == "not_today"
    # Checked in, the appointment is no longer moved or cancelled at the desk.
    moved = await api.post(f"{desk.base}/appointments/{today['id']}/reschedule", {"start": later_today(240)}, token=desk.receptionist.access_token)
    assert moved.status == 409 and moved.error_code == "appointment_not_active"
    assert len(await audited(desk.receptionist.id, patient.id, "appointment.check_in")) == 2


async def test_the_desk_moves_an_appointment_and_the_patient_hears_it(api, admin, make_doctor, make_patient, connect, db):
    desk = await make_desk(api, admin, make_doctor)
    patient = await make_patient()
    mine = await connect(patient.access_token)
    day = future_day(3)
    tz = desk.clinic["timezone"]
    booked = (await book(api, patient, desk.doctor.id, local_slot(day, "09:00", tz))).body["appointment"]
    new_start = local_slot(day + timedelta(days=1), "14:30", tz)

    resp = await api.post(f"{desk.base}/appointments/{booked['id']}/reschedule", {"start": new_start}, token=desk.receptionist.access_token)
    assert resp.status == 200, resp.body
    assert parse(resp.body["appointment"]["start"]) == parse(new_start)
    event = await mine.wait_for("appointment:rescheduled", lambda e: e["appointment"]["id"] == booked["id"])
    assert parse(event["previous_start"]) == parse(booked["start"])
    # The old slot is free again: someone else can book it.
    assert (await book(api, await make_patient(), desk.doctor.id, booked["start"])).status == 201
    assert len(await audited(desk.receptionist.id, patient.id, "appointment.reschedule")) == 1


async def test_the_desk_cancels_only_with_a_reason(api, admin, make_doctor, make_patient, connect, db):
    desk = await make_desk(api, admin, make_doctor)
    patient = await make_patient()
    mine = await connect(patient.access_token)
    booked = (await desk_book(api, desk, patient.id, local_slot(future_day(3), "15:00", desk.clinic["timezone"]))).body["appointment"]
    path = f"{desk.base}/appointments/{booked['id']}/cancel"

    assert (await api.post(path, {}, token=desk.receptionist.access_token)).status == 422
    resp = await api.post(path, {"reason": "The doctor is away that day"}, token=desk.receptionist.access_token)
    assert resp.status == 200, resp.body
    cancelled = resp.body["appointment"]
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "The doctor is away that day" and cancelled["cancelled_by"] == "receptionist"
    event = await mine.wait_for("appointment:cancelled", lambda e: e["appointment"]["id"] == booked["id"])
    assert event["appointment"]["cancel_reason"] == "The doctor is away that day"
    assert len(await audited(desk.receptionist.id, patient.id, "appointment.cancel")) == 1


async def test_the_day_list_shows_the_clinics_appointments_with_patient_names(api, admin, make_doctor, make_patient, db):
    desk = await make_desk(api, admin, make_doctor)
    first, second = await make_patient(name=named("Ada")), await make_patient(name=named("Ben"))
    day = future_day(6)
    tz = desk.clinic["timezone"]
    await desk_book(api, desk, first.id, local_slot(day, "10:00", tz))
    await book(api, second, desk.doctor.id, local_slot(day, "09:00", tz))
    await book(api, second, desk.doctor.id, local_slot(day + timedelta(days=1), "09:00", tz))  # another day

    resp = await api.get(f"{desk.base}/appointments", params={"date": str(day)}, token=desk.receptionist.access_token)
    assert resp.status == 200, resp.body
    assert resp.body["date"] == str(day) and resp.body["timezone"] == tz
    assert [(a["patient_name"], a["resource_name"]) for a in resp.body["appointments"]] == [(second.name, desk.doctor.name), (first.name, desk.doctor.name)]
    assert all(len(a["token"]) == 9 for a in resp.body["appointments"])
    for patient in (first, second):
        assert len(await audited(desk.receptionist.id, patient.id, "appointment.list")) == 1
    today = await api.get(f"{desk.base}/appointments", token=desk.receptionist.access_token)
    assert today.status == 200 and today.body["date"] == str(datetime.now(ZoneInfo(tz)).date())


async def test_patient_search_finds_the_clinics_patients_and_others_only_by_whole_email(api, admin, make_doctor, make_patient, db):
    desk = await make_desk(api, admin, make_doctor)
    ours = await make_patient(name=named("Olga"), phone="+14155550142")
    outsider = await make_patient(name=named("Olga"))
    await book(api, ours, desk.doctor.id, local_slot(future_day(3), "10:00", desk.clinic["timezone"]))
    search = f"{desk.base}/patients"
    token = desk.receptionist.access_token

    by_name = await api.get(search, params={"q": ours.name.split()[1][:6]}, token=token)
    assert by_name.status == 200, by_name.body
    assert [(p["id"], p["phone"], p["clinic_patient"]) for p in by_name.body["patients"]] == [(ours.id, "+14155550142", True)]
    assert (await api.get(search, params={"q": "4155550142"}, token=token)).body["patients"][0]["id"] == ours.id
    hidden = await api.get(search, params={"q": outsider.name}, token=token)
    assert hidden.body["patients"] == []
    by_email = await api.get(search, params={"q": outsider.email.upper()}, token=token)
    assert [(p["id"], p["name"], p["phone"], p["clinic_patient"]) for p in by_email.body["patients"]] == [(outsider.id, outsider.name, None, False)]
    assert len(await audited(desk.receptionist.id, ours.id, "patient.search")) == 2
    assert len(await audited(desk.receptionist.id, outsider.id, "patient.search")) == 1
    # Someone found by email can be booked at once.
    assert (await desk_book(api, desk, outsider.id, local_slot(future_day(3), "11:00", desk.clinic["timezone"]))).status == 201


async def test_the_desk_finds_a_diagnostics_booking_by_its_token_and_checks_it_in(api, admin, make_doctor, make_patient, db):
    desk = await make_desk(api, admin, make_doctor)
    body = {"name": f"Lab {uuid.uuid4().hex[:6]}", "kind": "blood_test", "clinic_id": desk.clinic_id, "capacity": 2, "weekly": ALL_DAY}
    centre = (await api.post("/api/admin/test-centres", body, token=admin.access_token)).body["test_centre"]
    patient = await make_patient()
    at = datetime.now(UTC) + timedelta(minutes=120)
    start = iso(at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))  # the next hourly slot, still today there
    resp = await api.post("/api/appointments", {"test_centre_id": centre["id"], "start": start, "client_id": uuid.uuid4().hex}, token=patient.access_token)
    assert resp.status == 201, resp.body
    booked = resp.body["appointment"]

    found = await api.get(f"{desk.base}/appointments/by-token/{booked['token'].lower()}", token=desk.receptionist.access_token)
    assert found.status == 200, found.body
    assert found.body["appointment"]["id"] == booked["id"] and found.body["appointment"]["patient_name"] == patient.name
    assert found.body["appointment"]["kind"] == "diagnostic"
    checked = await api.post(f"{desk.base}/appointments/{booked['id']}/check-in", token=desk.receptionist.access_token)
    assert checked.status == 200 and checked.body["appointment"]["status"] == "checked_in"
    assert len(await audited(desk.receptionist.id, patient.id, "appointment.read")) == 1


async def test_a_receptionist_of_another_clinic_is_refused_and_sees_no_patient(api, admin, make_doctor, make_patient, db):
    desk = await make_desk(api, admin, make_doctor)
    other = await make_desk(api, admin, make_doctor)
    patient = await make_patient(name=named("Petra"))
    booked = (await desk_book(api, desk, patient.id, local_slot(future_day(3), "10:00", desk.clinic["timezone"]))).body["appointment"]
    stranger = other.receptionist.access_token

    assert (await api.get(f"{desk.base}/appointments", token=stranger)).status == 403
    assert (await api.get(f"{desk.base}/patients", params={"q": patient.name}, token=stranger)).status == 403
    refused = await api.post(
        f"{desk.base}/appointments", {"patient_id": patient.id, "doctor_id": desk.doctor.id, "start": local_slot(future_day(3), "12:00", desk.clinic["timezone"]), "client_id": uuid.uuid4().hex}, token=stranger
    )
    assert refused.status == 403
    for step, body in (("check-in", None), ("cancel", {"reason": "No"}), ("reschedule", {"start": local_slot(future_day(3), "13:00", desk.clinic["timezone"])})):
        assert (await api.post(f"{desk.base}/appointments/{booked['id']}/{step}", body, token=stranger)).status == 403
        # Through their own clinic's desk, another clinic's appointment does not exist.
        assert (await api.post(f"{other.base}/appointments/{booked['id']}/{step}", body, token=stranger)).status == 404
    assert (await api.get(f"{other.base}/appointments/by-token/{booked['token']}", token=stranger)).status == 404
    assert (await api.get(f"{other.base}/patients", params={"q": patient.name.split()[1]}, token=stranger)).body["patients"] == []
    # Their own clinic's doctors only: booking the other clinic's doctor through their desk is refused.
    elsewhere = await api.post(
        f"{other.base}/appointments", {"patient_id": patient.id, "doctor_id": desk.doctor.id, "start": local_slot(future_day(3), "14:00", desk.clinic["timezone"]), "client_id": uuid.uuid4().hex}, token=stranger
    )
    assert elsewhere.status == 404 and elsewhere.body["error"]["field"] == "doctor_id"
    assert await audited(other.receptionist.id, patient.id, "appointment.read") == []
    assert (await Appointment.get(ObjectId(booked["id"]))).status == "booked"
    # A patient is no desk at all.
    assert (await api.get(f"{desk.base}/appointments", token=patient.access_token)).status == 403
