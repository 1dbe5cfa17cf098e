"""The clinic page's doctors to approve, FAQ, statistics and audit log, and the patient app in the
colours of the patient's clinic, in a real browser."""

from __future__ import annotations

import uuid

import aiohttp
from playwright.async_api import expect

from tests.accounts_stack import accounts_stack  # noqa: F401
from tests.accounts_stack import stack_api  # noqa: F401
from tests.accounts_stack import register_on
from tests.booking_support import ALL_DAY
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.clients import Account
from tests.clients import Api
from tests.clients import unique_email
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4" fill="#7a1f5c"/></svg>'


async def clinic_with_admin(api: Api, admin: Account) -> tuple[dict, dict]:
    body = {
        "clinic": {"name": f"Harbour Clinic {uuid.uuid4().hex[:6]}", "timezone": "UTC"},
        "applicant": {"name": "Ana Lima", "email": unique_email("applicant"), "password": DEFAULT_PASSWORD},
    }
    applied = await api.post("/api/clinic-applications", body)
    approved = await api.post(f"/api/admin/clinic-applications/{applied.body['application']['id']}/approve", token=admin.access_token)
    assert approved.status == 200, approved.body
    return approved.body["application"], body["applicant"]


async def doctor_asking_to_join(api: Api, admin: Account, clinic_id: str, name: str) -> Account:
    user = await register_on(api, "doctor", name=name)
    assert (await api.post(f"/api/admin/doctors/{user['id']}/approve", token=admin.access_token)).status == 200
    doctor = await login(api, user["email"])
    asked = await api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinic_id, "specialties": ["Dermatology"]}, token=doctor.access_token)
    assert asked.status == 200 and asked.body["clinic_request"]["status"] == "pending", asked.body
    return doctor


async def test_a_clinic_admin_approves_one_doctor_and_turns_another_down_on_the_clinic_page(stack_api, accounts_stack, open_page):  # noqa: F811
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, applicant = await clinic_with_admin(stack_api, admin)
    clinic_id = clinic["clinic_id"]
    tag = uuid.uuid4().hex[:6]
    welcome = await doctor_asking_to_join(stack_api, admin, clinic_id, f"Dr Welcome {tag}")
    declined = await doctor_asking_to_join(stack_api, admin, clinic_id, f"Dr Declined {tag}")

    page = await open_page(base_url=accounts_stack.web.url)
    await page.login("/clinic", applicant["email"])
    await page.page.get_by_role("tab", name="Doctors").click()
    waiting = page.page.locator("ul.join-requests li")
    await expect(waiting).to_have_count(2)
    await waiting.filter(has_text=f"Dr Welcome {tag}").get_by_role("button", name="Approve").click()
    await expect(page.page.locator(f"ul.clinic-doctors li[data-doctor-id='{welcome.id}']")).to_be_visible()
    request = waiting.filter(has_text=f"Dr Declined {tag}")
    await request.get_by_label(f"Reason for turning down Dr Declined {tag}").fill("No dermatology room until spring.")
    await request.get_by_role("button", name="Reject").click()
    await expect(waiting).to_have_text(["No doctor is waiting."])

    listed = await stack_api.get("/api/doctors", params={"clinic_id": clinic_id}, token=declined.access_token)
    assert [d["id"] for d in listed.body["doctors"]] == [welcome.id]
    clinic_admin = await login(stack_api, applicant["email"])
    rejected = await stack_api.get(f"/api/clinics/{clinic_id}/doctors", params={"status": "rejected"}, token=clinic_admin.access_token)
    assert [(d["doctor_id"], d["reason"]) for d in rejected.body["doctors"]] == [(declined.id, "No dermatology room until spring.")]

    await page.page.get_by_role("tab", name="Audit log").click()
    audit = page.page.get_by_role("table", name="The clinic's audit log")
    await expect(audit.locator("tr[data-action='clinic.doctor_approved']")).to_have_count(1)
    await expect(audit.locator("tr[data-action='clinic.doctor_rejected']")).to_contain_text("No dermatology room until spring.")
    await page.page.get_by_role("tab", name="Statistics").click()
    await expect(page.page.locator(".stats-summary")).to_contain_text("Appointments")


async def test_the_patient_app_shows_the_logo_and_colour_of_the_patients_clinic(stack_api, accounts_stack, open_page):  # noqa: F811
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, applicant = await clinic_with_admin(stack_api, admin)
    clinic_id = clinic["clinic_id"]
    clinic_admin = await login(stack_api, applicant["email"])
    assert (await stack_api.put(f"/api/clinics/{clinic_id}/branding", {"brand_color": "#7a1f5c"}, token=clinic_admin.access_token)).status == 200
    form = aiohttp.FormData()
    form.add_field("file", LOGO, filename="logo.svg", content_type="image/svg+xml")
    headers = {"Authorization": f"Bearer {clinic_admin.access_token}"}
    async with stack_api.session.post(f"{stack_api.base_url}/api/clinics/{clinic_id}/logo", data=form, headers=headers) as resp:
        assert resp.status == 200
        logo_url = (await resp.json())["branding"]["logo_url"]
    doctor = await doctor_asking_to_join(stack_api, admin, clinic_id, "Dr Brand")
    assert (await stack_api.post(f"/api/clinics/{clinic_id}/doctors/{doctor.id}/approve", token=clinic_admin.access_token)).status == 200
    assert (await stack_api.put(f"/api/doctors/{doctor.id}/availability", {"slot_minutes": 30, "weekly": ALL_DAY}, token=doctor.access_token)).status == 200
    patient = await register_on(stack_api)
    patient_account = await login(stack_api, patient["email"])
    body = {"doctor_id": doctor.id, "start": local_slot(future_day(), "10:00"), "client_id": uuid.uuid4().hex}
    assert (await stack_api.post("/api/appointments", body, token=patient_account.access_token)).status == 201

    page = await open_page(base_url=accounts_stack.web.url)
    await page.login("/", patient["email"])
    logo = page.page.locator(".topbar img.clinic-logo")
    await expect(logo).to_have_attribute("src", logo_url)
    await expect(logo).to_have_attribute("alt", clinic["clinic"]["name"])
    await expect(page.page.locator(".topbar")).to_have_css("background-color", "rgb(122, 31, 92)")


async def test_a_clinic_admin_writes_the_faq_the_assistant_answers_from(stack_api, accounts_stack, open_page):  # noqa: F811
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, applicant = await clinic_with_admin(stack_api, admin)
    page = await open_page(base_url=accounts_stack.web.url)
    await page.login("/clinic", applicant["email"])
    await page.page.get_by_role("tab", name="FAQ").click()
    await page.page.get_by_role("button", name="Add a question").click()
    await page.page.get_by_label("Question 1").fill("Is there parking?")
    await page.page.get_by_label("Answer 1").fill("Yes, behind the clinic, free for patients.")
    await page.page.get_by_label("Emergency number").fill("112")
    await page.page.get_by_role("button", name="Save FAQ").click()
    await expect(page.page.get_by_text("FAQ saved.")).to_be_visible()

    faq = (await stack_api.get(f"/api/clinics/{clinic['clinic_id']}/faq", token=admin.access_token)).body["faq"]
    assert faq["entries"] == [{"question": "Is there parking?", "answer": "Yes, behind the clinic, free for patients."}]
    assert faq["emergency_number"] == "112"
    await page.page.reload()
    await page.page.wait_for_selector("body[data-state=ready]")
    await page.page.get_by_role("tab", name="FAQ").click()
    await expect(page.page.get_by_label("Question 1")).to_have_value("Is there parking?")
