"""The three pages: served with their security headers, every section renders on a phone, keyboard use, the availability editor."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from playwright.async_api import expect

from tests.browser import PHONE
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.test_ui_booking import bookable_doctor


@pytest.mark.parametrize("path", ["/", "/console", "/admin"])
async def test_pages_are_html_with_a_strict_content_security_policy(http_session, web, path):
    async with http_session.get(web.url + path) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        html = await resp.text()
    assert '<script src="/static/vendor/socket.io.min.js"' in html
    assert '<meta name="viewport"' in html


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/static/vendor/socket.io.min.js", "Socket.IO v4.8.4"),
        ("/static/vendor/chart.umd.min.js", "Chart.js v4.6.1"),
        ("/static/vendor/socket.io-client.LICENSE", "MIT"),
        ("/static/vendor/chart.js.LICENSE.md", "MIT"),
    ],
)
async def test_vendored_libraries_are_served_with_their_licences(http_session, web, path, needle):
    async with http_session.get(web.url + path) as resp:
        assert resp.status == 200
        assert needle in (await resp.text())[:2000]


async def assert_fits_the_screen(page) -> None:
    overflow = await page.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"page is {overflow}px wider than the screen"


async def visit_every_tab(page) -> None:
    tabs = page.page.get_by_role("tab")
    for i in range(await tabs.count()):
        tab = tabs.nth(i)
        await tab.click()
        panel = page.page.locator(f"#{await tab.get_attribute('aria-controls')}")
        await expect(panel).to_be_visible()
        await expect(panel.locator("h2").first).to_be_visible()
        await expect(panel.locator(".error:visible")).to_have_count(0)
        await assert_fits_the_screen(page)


async def test_every_section_renders_on_a_phone_without_errors(api, admin, make_doctor, make_patient, open_page):  # noqa: F811
    doctor, specialty = await bookable_doctor(api, admin, make_doctor)
    patient = await make_patient()
    assert (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).status == 201
    slots = (await api.get(f"/api/doctors/{doctor.id}/slots", token=patient.access_token, params={"from": "2030-01-07", "to": "2030-01-08"})).body["slots"]
    booked = await api.post("/api/appointments", {"doctor_id": doctor.id, "start": slots[0]["start"], "client_id": uuid.uuid4().hex}, token=patient.access_token)
    assert booked.status == 201, booked.body

    for path, account, password in (("/", patient.email, None), ("/console", doctor.email, None), ("/admin", ADMIN_EMAIL, ADMIN_PASSWORD)):
        page = await open_page(viewport=PHONE)
        if password:
            await page.login(path, account, password)
        else:
            await page.login(path, account)
        await assert_fits_the_screen(page)
        await visit_every_tab(page)
        if path == "/":
            await page.page.get_by_role("tab", name="Appointments").click()
            await expect(page.page.locator("li.appointment.status-booked")).to_have_count(1)
        if path == "/console":
            await page.page.get_by_role("tab", name="Today").click()
            await expect(page.page.locator(".schedule-later li.appointment")).to_have_count(1)


async def test_keyboard_only_login_and_tab_navigation(api, admin, make_doctor, make_patient, open_page):  # noqa: F811
    doctor, specialty = await bookable_doctor(api, admin, make_doctor)
    patient = await make_patient()
    page = await open_page(viewport=PHONE)
    await page.goto("/")
    kb = page.page.keyboard
    await kb.type(patient.email)  # the email field has focus on load
    await kb.press("Tab")
    await kb.type("correct-horse-42")
    await kb.press("Enter")
    await page.page.wait_for_selector("body[data-state=ready]")
    specialties = page.page.locator("[role=group][aria-label=Specialties]")
    await expect(specialties).to_have_attribute("aria-busy", "false")
    # Showing the Book tab reloads its specialties. On a slow network (or a busy server) the reload
    # comes back after the keyboard reached a specialty: it is held here until then, and must
    # leave the focus where it is.
    reload_held, release_reload = asyncio.Event(), asyncio.Event()

    async def hold_reload(route):
        reload_held.set()
        await release_reload.wait()
        await route.continue_()

    await page.page.route("**/api/specialties", hold_reload)
    await page.page.get_by_role("tab", name="Messages").focus()
    await kb.press("ArrowRight")
    book_tab = page.page.get_by_role("tab", name="Book")
    await expect(book_tab).to_be_focused()
    await expect(book_tab).to_have_attribute("aria-selected", "true")
    await asyncio.wait_for(reload_held.wait(), 10)
    specialty_button = page.page.get_by_role("button", name=specialty)
    await specialty_button.focus()
    release_reload.set()
    await expect(specialties).to_have_attribute("aria-busy", "false")
    await expect(specialty_button).to_be_focused()
    await kb.press("Enter")
    doctor_button = page.page.locator(f"button.doctor[data-doctor-id='{doctor.id}']")
    await doctor_button.focus()
    await kb.press("Enter")
    await expect(page.page.locator("button.slot").first).to_be_focused()


async def test_doctor_sets_profile_and_weekly_hours_in_the_editor(api, admin, make_doctor, open_page):  # noqa: F811
    clinic = await api.post("/api/admin/clinics", {"name": f"Editor Clinic {uuid.uuid4().hex[:6]}", "timezone": "America/New_York"}, token=admin.access_token)
    doctor = await make_doctor()
    page = await open_page()
    await page.login("/console", doctor.email)
    await page.page.get_by_role("tab", name="Availability").click()
    await page.page.get_by_label("Clinic").select_option(clinic.body["clinic"]["id"])
    await page.page.get_by_label("Specialties (comma-separated)").fill("Dermatology, General practice")
    await page.page.get_by_role("button", name="Save profile").click()
    await expect(page.page.get_by_role("status")).to_have_text("Profile saved.")
    # Choosing a clinic asks to join it; its admin approves (here the platform admin, by the API).
    await expect(page.page.locator("#clinic-request")).to_contain_text("waiting for the clinic")
    resp = await api.post(f"/api/clinics/{clinic.body['clinic']['id']}/doctors/{doctor.id}/approve", token=admin.access_token)
    assert resp.status == 200, resp.body
    await page.page.locator("#open-0").check()
    await page.page.locator("#start-0").fill("08:30")
    await page.page.locator("#end-0").fill("12:00")
    await page.page.locator("#open-2").check()
    await page.page.locator("#slot-minutes").fill("20")
    await page.page.get_by_role("button", name="Save availability").click()
    await expect(page.page.get_by_role("status")).to_have_text("Availability saved.")
    saved = (await api.get(f"/api/doctors/{doctor.id}", token=doctor.access_token)).body["doctor"]
    assert saved["specialties"] == ["dermatology", "general_practice"]  # catalogue names are stored as their slugs
    assert saved["availability"]["slot_minutes"] == 20
    assert saved["availability"]["weekly"] == [{"weekday": 0, "start": "08:30", "end": "12:00"}, {"weekday": 2, "start": "09:00", "end": "17:00"}]
