"""Vitals in a real browser: a patient's crisis reading reaches the doctor's console live."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from playwright.async_api import expect

from engage.models.vitals import VitalAlert
from tests.browser import PHONE
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401


async def test_crisis_reading_alerts_the_doctor_within_two_seconds(api, make_patient, make_doctor, open_page, db):  # noqa: F811
    """185/125 mmHg: the console shows the alert and the new chart point within 2 s; the doctor acknowledges it."""
    tag = uuid.uuid4().hex[:6]
    doctor = await make_doctor(name=f"Dr Watch {tag}")
    patient = await make_patient(name=f"Vic Vitals {tag}")
    conv = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    assert conv.status == 201
    now = datetime.now(UTC)
    week = [
        {"type": "blood_pressure", "systolic": 110 + day, "diastolic": 72, "unit": "mmHg", "taken_at": (now - timedelta(days=day, hours=2)).isoformat()}
        for day in range(7, 0, -1)
    ]
    resp = await api.post("/api/vitals", {"readings": week}, token=patient.access_token)
    assert resp.status == 200 and resp.body["created"] == 7, resp.body

    doc = await open_page()
    await doc.login("/console", doctor.email)
    await doc.wait_socket()
    await doc.page.locator(f"button.conversation[data-conversation-id='{conv.body['conversation']['id']}']").click()
    chart = doc.page.locator("canvas[data-type=blood_pressure]")
    await expect(chart).to_have_attribute("data-points", "7")
    await expect(doc.page.locator(".open-alerts")).to_contain_text("No open alerts.")

    pat = await open_page(viewport=PHONE)
    await pat.login("/", patient.email)
    await pat.wait_socket()
    await pat.page.get_by_role("tab", name="Vitals").click()
    await pat.page.get_by_label("Systolic").fill("185")
    await pat.page.get_by_label("Diastolic").fill("125")
    await pat.page.get_by_role("button", name="Save reading").click()

    alert = doc.page.locator(".open-alerts li.alert-item").filter(has_text="hypertensive crisis")
    await expect(alert).to_contain_text("hypertensive crisis")
    await expect(chart).to_have_attribute("data-points", "8")
    await expect(chart).to_have_attribute("data-last", "185/125")
    await expect(pat.page.get_by_role("status").filter(has_text="Reading saved.")).to_be_visible()
    await expect(pat.page.locator("canvas[data-type=blood_pressure]")).to_have_attribute("data-points", "8")
    await doc.screenshot("doctor-console-alert")

    await alert.get_by_role("button", name="Acknowledge").click()
    await expect(alert).to_contain_text(f"Acknowledged by {doctor.name}")
    stored = await VitalAlert.find_one({"_id": oid(await alert.get_attribute("data-alert-id"))})
    assert stored is not None and stored.status == "acked"
    await expect(doc.page.get_by_role("tab", name="Alerts")).to_have_text("Alerts")
    await pat.screenshot("patient-vitals")


def oid(value: str):
    from beanie import PydanticObjectId

    return PydanticObjectId(value)


async def test_advice_appears_when_the_job_is_done(api, make_patient, make_doctor, open_page, worker, db):  # noqa: F811
    """The patient asks for advice; the panel shows it when advice:ready arrives, with its notice."""
    doctor = await make_doctor()
    patient = await make_patient()
    assert (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).status == 201
    now = datetime.now(UTC)
    readings = [
        {"type": "blood_pressure", "systolic": 150 + i, "diastolic": 95, "unit": "mmHg", "taken_at": (now - timedelta(days=i, hours=1)).isoformat()}
        for i in range(1, 6)
    ]
    assert (await api.post("/api/vitals", {"readings": readings}, token=patient.access_token)).status == 200

    pat = await open_page(viewport=PHONE)
    await pat.login("/", patient.email)
    await pat.wait_socket()
    await pat.page.get_by_role("tab", name="Advice").click()
    await expect(pat.page.locator(".advice-list")).to_contain_text("No advice yet.")
    await pat.page.get_by_role("button", name="Ask for advice on my last 30 days").click()
    await expect(pat.page.get_by_role("status").filter(has_text="Your advice is ready.")).to_be_visible(timeout=30_000)
    card = pat.page.locator("article.advice")
    await expect(card).to_have_count(1)
    await expect(card.locator(".advice-item").first).to_contain_text("Based on:")
    await expect(card.locator(".disclaimer")).not_to_be_empty()


async def test_patient_marks_a_dose_taken(api, make_patient, make_doctor, open_page, db):  # noqa: F811
    doctor = await make_doctor()
    patient = await make_patient()
    assert (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).status == 201
    soon = datetime.now(UTC) + timedelta(minutes=30)
    today = soon.date()
    body = {"drug": "Metformin", "dose": "500 mg", "times": [soon.strftime("%H:%M")], "start_date": (today - timedelta(days=1)).isoformat(),
            "end_date": (today + timedelta(days=5)).isoformat(), "instructions": "With food."}
    resp = await api.post(f"/api/patients/{patient.id}/prescriptions", body, token=doctor.access_token)
    assert resp.status == 201, resp.body

    pat = await open_page(viewport=PHONE)
    await pat.login("/", patient.email)
    await pat.page.get_by_role("tab", name="Medications").click()
    card = pat.page.locator(f"article[data-prescription-id='{resp.body['prescription']['id']}']")
    await expect(card).to_contain_text("Metformin — 500 mg")
    await card.get_by_role("button", name="Taken").first.click()
    await expect(card.locator("li[data-status=taken]")).to_have_count(1)
    await expect(card).to_contain_text("Adherence: 100 %")
