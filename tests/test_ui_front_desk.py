"""The front desk in a real browser: a receptionist signs in, finds a patient, books them on a free
slot with the clinic's doctor, and checks them in; the day follows bookings made elsewhere live."""

from __future__ import annotations

import uuid

from beanie import PydanticObjectId as oid
from playwright.async_api import expect

from engage.models.appointment import Appointment
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.booking_support import book
from tests.front_desk_support import later_today
from tests.front_desk_support import make_desk


async def test_a_receptionist_books_a_patient_and_checks_them_in(api, admin, make_doctor, make_patient, open_page, db):  # noqa: F811
    desk = await make_desk(api, admin, make_doctor)
    patient = await make_patient(name=f"Walk-in {uuid.uuid4().hex[:6]}")
    page = await open_page()

    # Signing in on the patient app lands the receptionist on the front desk, signed in.
    await page.goto("/")
    form = page.page.locator("form.auth").first
    await form.get_by_label("Email").fill(desk.receptionist.email)
    await form.get_by_label("Password").fill(desk.receptionist.password)
    await form.get_by_role("button", name="Log in").click()
    await page.page.wait_for_url("**/frontdesk")
    await page.page.wait_for_selector("body[data-state=ready]")
    await expect(page.page.locator(".desk-day")).to_contain_text("No appointments this day.")
    await page.page.get_by_role("tab", name="Book").click()
    await page.page.locator("#patient-search").fill(patient.email)
    await page.page.get_by_role("button", name="Search").click()
    await page.page.locator(f".patient-match[data-patient-id='{patient.id}']").get_by_role("button", name="Choose").click()
    await expect(page.page.locator(".chosen-patient")).to_contain_text(patient.name)
    slot = page.page.locator(".book-slots button.slot").first
    start = await slot.get_attribute("data-start")
    await slot.click()
    await expect(page.page.locator(".toast").last).to_contain_text(f"Booked {patient.name}")

    await page.page.get_by_role("tab", name="Appointments").click()
    row = page.page.locator(".desk-appointment", has_text=patient.name)
    await expect(row.locator(".desk-status")).to_have_text("Booked")
    await row.get_by_role("button", name="Check in").click()
    await expect(row.locator(".desk-status")).to_have_text("Checked in")
    await expect(row.get_by_role("button", name="Check in")).to_have_count(0)
    await page.screenshot("front-desk-checked-in")

    booked = await Appointment.find_one({"patient_id": oid(patient.id)})
    assert booked is not None and booked.status == "checked_in" and booked.start.isoformat().startswith(start[:16])
    assert str(booked.booked_by) == desk.receptionist.id


async def test_a_booking_made_online_appears_on_the_desk_without_a_reload(api, admin, make_doctor, make_patient, open_page, db):  # noqa: F811
    desk = await make_desk(api, admin, make_doctor)
    patient = await make_patient(name=f"Online {uuid.uuid4().hex[:6]}")
    page = await open_page()
    await page.login("/frontdesk", desk.receptionist.email)
    await page.wait_socket()
    await page.page.wait_for_selector("body[data-watching=yes]")
    await expect(page.page.locator(".desk-day")).to_contain_text("No appointments this day.")

    resp = await book(api, patient, desk.doctor.id, later_today(180))  # beyond the patients' cancellation cutoff
    assert resp.status == 201, resp.body
    row = page.page.locator(".desk-appointment", has_text=patient.name)
    await expect(row.locator(".desk-status")).to_have_text("Booked")
    await expect(row).to_contain_text(resp.body["appointment"]["token"])

    # Cancelled by the patient: the desk sees that too.
    assert (await api.post(f"/api/appointments/{resp.body['appointment']['id']}/cancel", {}, token=patient.access_token)).status == 200
    await expect(row.locator(".desk-status")).to_have_text("Cancelled")
