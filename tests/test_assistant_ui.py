"""The Assistant tab in a real browser: an emergency, a booking through the assistant, and a
handover whose summary the doctor's console shows."""

from __future__ import annotations

import uuid

from playwright.async_api import expect

from tests.booking_support import ALL_DAY
from tests.booking_support import make_scheduled_doctor
from tests.browser import PHONE
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401

REPLY_MS = 30_000  # a worker job answers


async def open_assistant_tab(open_page, patient, viewport=PHONE):  # noqa: F811
    page = await open_page(viewport=viewport)
    await page.login("/", patient.email)
    await page.wait_socket()
    await page.page.get_by_role("tab", name="Assistant").click()
    await expect(page.page.locator(".assistant-note")).to_be_visible()
    return page


async def say(page, text: str) -> None:
    composer = page.page.locator("#panel-assistant").get_by_label("Message", exact=True)
    await composer.fill(text)
    await composer.press("Enter")


def replies(page):
    return page.page.locator("#panel-assistant .message.automated")


async def test_emergency_shows_the_call_button_and_no_slots(api, make_patient, make_doctor, open_page, worker):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    doctor = await make_doctor()
    patient = await make_patient(name=f"Ema Gency {tag}")
    assert (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).status == 201  # care team
    console = await open_page()
    await console.login("/console", doctor.email)
    await console.wait_socket()
    page = await open_assistant_tab(open_page, patient)
    await say(page, "My husband can't breathe and his lips are turning blue")
    reply = replies(page).last
    await expect(reply.locator(".automated-label")).to_have_text("Automated reply", timeout=REPLY_MS)
    await expect(reply.locator(".body")).to_contain_text("Call 112 now")
    call = reply.get_by_role("link", name="Call 112")
    await expect(call).to_have_attribute("href", "tel:112")
    await expect(reply.get_by_role("button")).to_have_count(0)  # never a routine slot instead
    await page.screenshot("assistant-emergency")
    # The care team's console lists the critical alert (it also toasts it for a few seconds).
    await console.page.get_by_role("tab", name="Alerts").click()
    item = console.page.locator("#panel-alerts .alert-item.critical").filter(has_text=f"Ema Gency {tag}")
    await expect(item).to_contain_text("Possible emergency reported to the assistant", timeout=REPLY_MS)


async def test_booking_through_the_assistant(api, admin, make_patient, make_doctor, open_page, worker):  # noqa: F811
    await make_scheduled_doctor(api, admin, make_doctor, specialties=["dermatology"], weekly=ALL_DAY)
    patient = await make_patient()
    page = await open_assistant_tab(open_page, patient)
    await say(page, "I'd like to see a dermatologist about a rash")
    reply = replies(page).last
    slots = reply.locator(".assistant-actions button.primary")
    await expect(slots.first).to_be_visible(timeout=REPLY_MS)
    await slots.first.click()
    await expect(reply.locator(".action-result").first).to_contain_text("Booked:")
    await expect(slots.first).to_be_disabled()
    listed = await api.get("/api/appointments", token=patient.access_token)
    assert len([a for a in listed.body["appointments"] if a["status"] == "booked"]) == 1
    await page.screenshot("assistant-booking")


async def test_handover_opens_the_doctors_chat_with_a_summary(api, admin, make_patient, make_doctor, open_page, worker):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, specialties=["orthopedics"])
    patient = await make_patient(name=f"Hana Over {tag}")
    opened = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    conversation_id = opened.body["conversation"]["id"]
    # Another patient has been waiting longer: the handover still comes first in the queue.
    waiting = await make_patient()
    other = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=waiting.access_token)
    sent = await api.post(f"/api/conversations/{other.body['conversation']['id']}/messages", {"client_id": uuid.uuid4().hex, "body": "Hello?"}, token=waiting.access_token)
    assert sent.status in (200, 201), sent.body
    console = await open_page()
    await console.login("/console", doctor.email)
    await console.wait_socket()
    page = await open_assistant_tab(open_page, patient)
    await say(page, "my knee has been swollen for a week")
    await expect(replies(page)).to_have_count(1, timeout=REPLY_MS)
    await say(page, "I want to talk to a real person")
    handover = replies(page).nth(1).get_by_role("button", name="Open chat with")
    await expect(handover).to_be_visible(timeout=REPLY_MS)
    # The doctor's console: the handed-over conversation is first, and shows the automated summary.
    await expect(console.page.locator("button.conversation").first).to_have_attribute("data-conversation-id", conversation_id)
    await console.page.locator(f"button.conversation[data-conversation-id='{conversation_id}']").click()
    summary = console.page.locator(".message.automated")
    await expect(summary.locator(".automated-label")).to_have_text("Automated summary by the assistant")
    await expect(summary.locator(".body")).to_contain_text("my knee has been swollen for a week")
    await console.screenshot("assistant-handover-console")
    # The patient's button opens that chat in Messages.
    await handover.click()
    await expect(page.page.get_by_role("tab", name="Messages")).to_have_attribute("aria-selected", "true")
    await expect(page.page.locator("#panel-messages .message.automated .body")).to_contain_text("my knee has been swollen")
