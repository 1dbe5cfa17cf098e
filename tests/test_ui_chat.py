"""The chat UI in a real browser: a patient (phone-sized) and a doctor (console), two contexts."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect

from tests.browser import PHONE
from tests.waiting import wait_until
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401


async def pair(api, make_patient, make_doctor):
    tag = uuid.uuid4().hex[:6]
    doctor = await make_doctor(name=f"Dr Grey {tag}")
    patient = await make_patient(name=f"Pat Lee {tag}")
    resp = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    assert resp.status == 201, resp.body
    return patient, doctor, resp.body["conversation"]["id"]


@pytest.mark.parametrize("transport", ["default", "polling"])
async def test_patient_and_doctor_chat_with_typing_and_read_ticks(api, make_patient, make_doctor, open_page, transport):  # noqa: F811
    """Both log in and chat; the doctor sees typing…; the message shows on both sides; the tick turns read."""
    patient, doctor, conversation_id = await pair(api, make_patient, make_doctor)
    doc = await open_page()
    await doc.login("/console", doctor.email)
    pat = await open_page(viewport=PHONE)
    await pat.login("/?transport=polling" if transport == "polling" else "/", patient.email)
    await pat.wait_socket()
    await doc.wait_socket()

    # The doctor's queue shows the patient online.
    doc_row = doc.page.locator(f"button.conversation[data-conversation-id='{conversation_id}']")
    await expect(doc_row.locator(".presence")).to_have_class("presence online")

    await pat.page.locator(f"button.conversation[data-conversation-id='{conversation_id}']").click()
    composer = pat.page.get_by_label("Message", exact=True)
    await composer.press_sequentially("Hello doctor, my head", delay=30)
    await expect(doc_row.locator(".conv-preview")).to_have_text("typing…")
    await composer.press_sequentially(" hurts", delay=10)
    await composer.press("Enter")

    mine = pat.page.locator(".message.mine").filter(has_text="Hello doctor, my head hurts")
    await expect(mine).to_have_count(1)
    await expect(mine).to_have_attribute("data-status", "sent")
    await expect(doc_row.locator(".badge.unread")).to_have_text("1")
    await expect(doc_row.locator(".conv-preview")).to_have_text("Hello doctor, my head hurts")

    # The doctor opens it: the message is there, and the patient's tick turns to read.
    await doc_row.click()
    await expect(doc.page.locator(".message.theirs .body")).to_have_text(["Hello doctor, my head hurts"])
    await expect(mine).to_have_attribute("data-status", "read")
    await expect(mine.locator(".tick")).to_have_text("✓✓")

    # The doctor types and answers; the patient sees typing… and the answer.
    doc_composer = doc.page.get_by_label("Message", exact=True)
    await doc_composer.press_sequentially("Since when", delay=30)
    await expect(pat.page.locator(".typing")).to_have_text(f"{doctor.name} is typing…")
    await doc_composer.press_sequentially("?", delay=10)
    await doc.page.get_by_role("button", name="Send").click()
    await expect(pat.page.locator(".message.theirs .body")).to_have_text(["Since when?"])
    await expect(pat.page.locator(".typing")).to_have_text("")
    await expect(doc.page.locator(".message.mine").filter(has_text="Since when?")).to_have_attribute("data-status", "read")

    if transport == "polling":
        assert await pat.transport() == "polling"
        assert pat.websockets == [], "the polling page opened a websocket"
    else:
        await pat.screenshot("patient-chat")
        await doc.screenshot("doctor-console-chat")


async def test_reconnecting_banner_and_catch_up_through_chat_sync(api, make_patient, make_doctor, open_page):  # noqa: F811
    """Messages sent while the patient is offline appear once after the connection comes back."""
    patient, doctor, conversation_id = await pair(api, make_patient, make_doctor)
    pat = await open_page(viewport=PHONE)
    await pat.login("/", patient.email)
    await pat.wait_socket()
    await pat.page.locator(f"button.conversation[data-conversation-id='{conversation_id}']").click()
    send = {"client_id": "c0", "body": "Before the drop"}
    assert (await api.post(f"/api/conversations/{conversation_id}/messages", send, token=doctor.access_token)).status == 201
    await expect(pat.page.locator(".message.theirs .body")).to_have_text(["Before the drop"])

    # Cut the network, then drop the live connection: the banner says so.
    pat.expect_console_error(r"ERR_INTERNET_DISCONNECTED|Failed to load resource")
    await pat.context.set_offline(True)
    await pat.page.evaluate("window.engageLive.socket.io.engine.close()")
    banner = pat.page.locator("#banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_text("Reconnecting…")

    for i in range(1, 4):
        resp = await api.post(f"/api/conversations/{conversation_id}/messages", {"client_id": f"c{i}", "body": f"While away {i}"}, token=doctor.access_token)
        assert resp.status == 201
    await expect(pat.page.locator(".message.theirs")).to_have_count(1)

    await pat.context.set_offline(False)
    await expect(banner).to_be_hidden(timeout=15_000)
    await expect(pat.page.locator(".message.theirs .body")).to_have_text(["Before the drop", "While away 1", "While away 2", "While away 3"])
    # Read after catching up: the page sends chat:read once it shows the messages.
    async def doctor_sees_read():
        conv = await api.get(f"/api/conversations/{conversation_id}", token=doctor.access_token)
        return conv.body["conversation"]["other_read_seq"] == 4

    await wait_until(doctor_sees_read)


async def test_login_errors_are_shown_in_words(api, make_doctor, open_page):  # noqa: F811
    """Wrong password and a patient on the console page get clear messages."""
    page = await open_page(viewport=PHONE)
    page.expect_console_error(r"status of 401")
    await page.goto("/console")
    form = page.page.locator("form.auth").first
    await form.get_by_label("Email").fill("nobody@example.org")
    await form.get_by_label("Password").fill("wrong-password-1")
    await form.get_by_role("button", name="Log in").click()
    await expect(form.get_by_role("alert")).to_have_text("The email or password is incorrect.")

    # Registering a doctor with a weak password shows the rule; a good one says approval is pending.
    reg = page.page.locator("form.auth").nth(1)
    page.expect_console_error(r"status of 422")
    await reg.get_by_label("Name").fill("Dr New")
    await reg.get_by_label("Email").fill(f"new-{uuid.uuid4().hex[:8]}@example.org")
    await reg.get_by_label("Password (10+").fill("short")
    await reg.get_by_role("button", name="Register").click()
    await expect(reg.get_by_role("alert")).to_contain_text("10 to 128 characters")
    await reg.get_by_label("Password (10+").fill("long-enough-42")
    await reg.get_by_role("button", name="Register").click()
    await expect(reg.get_by_role("status")).to_have_text("Registered. An administrator must approve your account before you can log in.")
