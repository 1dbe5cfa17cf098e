"""Booking in a real browser: live slot removal, and two patients racing for one slot."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from beanie import PydanticObjectId as oid
from playwright.async_api import expect

from engage.models.appointment import Appointment
from tests.browser import PHONE
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401

WEEK = [{"weekday": d, "start": "00:00", "end": "23:30"} for d in range(7)]


async def bookable_doctor(api, admin, make_doctor) -> tuple:
    """An approved doctor in a UTC clinic with a unique specialty, open every day."""
    tag = uuid.uuid4().hex[:6]
    clinic = await api.post("/api/admin/clinics", {"name": f"Clinic {tag}", "timezone": "UTC"}, token=admin.access_token)
    assert clinic.status == 201, clinic.body
    doctor = await make_doctor(name=f"Dr Slot {tag}")
    specialty = f"Cardiology {tag}"
    resp = await api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinic.body["clinic"]["id"], "specialties": [specialty]}, token=admin.access_token)
    assert resp.status == 200, resp.body
    resp = await api.put(f"/api/doctors/{doctor.id}/availability", {"slot_minutes": 30, "weekly": WEEK}, token=doctor.access_token)
    assert resp.status == 200, resp.body
    return doctor, specialty


async def open_booking(page, specialty: str, doctor) -> None:
    await page.page.get_by_role("tab", name="Book").click()
    await page.page.get_by_role("button", name=specialty).click()
    await page.page.locator(f"button.doctor[data-doctor-id='{doctor.id}']").click()
    await expect(page.page.locator("button.slot").first).to_be_visible()


async def test_two_patients_race_for_one_slot(api, admin, make_doctor, make_patient, open_page, db):  # noqa: F811
    """One wins; the slot vanishes live for the other, whose late request gets the conflict and books an alternative in one click."""
    doctor, specialty = await bookable_doctor(api, admin, make_doctor)
    alice = await make_patient(name="Alice Race")
    bob = await make_patient(name="Bob Race")
    pa = await open_page(viewport=PHONE)
    pb = await open_page(viewport=PHONE)
    await pa.login("/", alice.email)
    await pb.login("/", bob.email)
    await pa.wait_socket()
    await pb.wait_socket()
    await open_booking(pa, specialty, doctor)
    await open_booking(pb, specialty, doctor)

    # Alice books the first slot: it disappears from Bob's page without a reload.
    first = pa.page.locator("button.slot").first
    first_start = await first.get_attribute("data-start")
    await first.click()
    await expect(pa.page.get_by_role("tab", name="Appointments")).to_have_attribute("aria-selected", "true")
    await expect(pb.page.locator(f"button.slot[data-start='{first_start}']")).to_have_count(0)

    # The race: Bob clicks the next slot, but his request is held on the way until Alice has it.
    target = pb.page.locator("button.slot").first
    target_start = await target.get_attribute("data-start")
    release = asyncio.Event()
    held = asyncio.Event()

    async def hold(route):
        held.set()
        await release.wait()
        await route.continue_()

    await pb.page.route("**/api/appointments", hold)
    pb.expect_console_error(r"status of 409")
    await target.click()
    await asyncio.wait_for(held.wait(), 5)
    await pa.page.get_by_role("tab", name="Book").click()
    await pa.page.locator(f"button.slot[data-start='{target_start}']").click()
    await expect(pa.page.locator(".toast").last).to_contain_text("Booked")
    release.set()

    conflict = pb.page.locator(".conflict")
    await expect(conflict).to_be_visible()
    await expect(conflict).to_contain_text("taken")
    alternatives = conflict.locator("button.alternative")
    assert await alternatives.count() >= 3
    await pb.screenshot("patient-booking-conflict")
    alt_start = await alternatives.first.get_attribute("data-start")
    await alternatives.first.click()
    await expect(pb.page.get_by_role("tab", name="Appointments")).to_have_attribute("aria-selected", "true")
    await expect(pb.page.locator("li.appointment.status-booked")).to_have_count(1)
    await pb.screenshot("patient-booking-after-conflict")

    target_dt = datetime.fromisoformat(target_start.replace("Z", "+00:00"))
    holders = await Appointment.find({"doctor_id": oid(doctor.id), "start": target_dt, "status": {"$in": ["booked", "confirmed"]}}).to_list()
    assert [str(a.patient_id) for a in holders] == [alice.id]
    bobs = await Appointment.find({"patient_id": oid(bob.id), "status": "booked"}).to_list()
    assert [a.start for a in bobs] == [datetime.fromisoformat(alt_start.replace("Z", "+00:00"))]


async def test_a_freed_slot_is_offered_to_the_waitlist_and_booked_in_one_click(api, admin, make_doctor, make_patient, open_page, db):  # noqa: F811
    doctor, specialty = await bookable_doctor(api, admin, make_doctor)
    alice = await make_patient()
    bob = await make_patient()
    pb = await open_page(viewport=PHONE)
    await pb.login("/", bob.email)
    await pb.wait_socket()
    await open_booking(pb, specialty, doctor)
    first_start = await pb.page.locator("button.slot").first.get_attribute("data-start")
    booked = await api.post("/api/appointments", {"doctor_id": doctor.id, "start": first_start, "client_id": uuid.uuid4().hex}, token=alice.access_token)
    assert booked.status == 201
    await expect(pb.page.locator(f"button.slot[data-start='{first_start}']")).to_have_count(0)

    await pb.page.get_by_role("button", name="Join the waitlist").click()
    await expect(pb.page.get_by_role("status").filter(has_text="waitlist")).to_contain_text(doctor.name)
    cancel = await api.post(f"/api/appointments/{booked.body['appointment']['id']}/cancel", {}, token=doctor.access_token)  # doctors may cancel at any time
    assert cancel.status == 200, cancel.body

    offer = pb.page.locator(".offer")
    await expect(offer).to_contain_text(f"A time with {doctor.name} is held for you")
    await offer.get_by_role("button", name="Book it").click()
    await expect(pb.page.get_by_role("tab", name="Appointments")).to_have_attribute("aria-selected", "true")
    await expect(pb.page.locator("li.appointment.status-booked")).to_have_count(1)
    mine = await Appointment.find({"patient_id": oid(bob.id), "status": {"$in": ["booked", "confirmed"]}}).to_list()
    assert [a.start for a in mine] == [datetime.fromisoformat(first_start.replace("Z", "+00:00"))]


async def test_patient_reschedules_then_cancels(api, admin, make_doctor, make_patient, open_page, db):  # noqa: F811
    doctor, specialty = await bookable_doctor(api, admin, make_doctor)
    patient = await make_patient()
    slots = (await api.get(f"/api/doctors/{doctor.id}/slots", token=patient.access_token, params={"from": "2030-01-07", "to": "2030-01-08"})).body["slots"]
    booked = await api.post("/api/appointments", {"doctor_id": doctor.id, "start": slots[0]["start"], "client_id": uuid.uuid4().hex}, token=patient.access_token)
    assert booked.status == 201
    appointment_id = booked.body["appointment"]["id"]

    page = await open_page(viewport=PHONE)
    page.page.on("dialog", lambda dialog: dialog.accept())
    await page.login("/", patient.email)
    await page.page.get_by_role("tab", name="Appointments").click()
    item = page.page.locator(f"li.appointment[data-appointment-id='{appointment_id}']")
    await item.get_by_role("button", name="Reschedule").click()
    new_slot = page.page.locator("#panel-appointments button.slot").nth(60)  # a day or more ahead: patients may cancel up to 2 h before
    new_start = await new_slot.get_attribute("data-start")
    await new_slot.click()
    await expect(page.page.locator(".toast").last).to_contain_text("Moved to")
    stored = await Appointment.get(oid(appointment_id))
    assert stored.start == datetime.fromisoformat(new_start.replace("Z", "+00:00")) and stored.status == "booked"

    await item.get_by_role("button", name="Cancel").click()
    await expect(item).to_have_class("appointment status-cancelled")
    assert (await Appointment.get(oid(appointment_id))).status == "cancelled"
