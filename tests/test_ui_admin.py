"""The admin page in a real browser: approvals, clinics, outbox retry, statistics; and the patient's preferences."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from beanie import PydanticObjectId
from playwright.async_api import expect

from engage.models.appointment import Appointment
from engage.models.clinic import Clinic
from engage.models.notification import Notification
from engage.models.notification import NotificationPreferences
from engage.models.user import User
from tests.browser import PHONE
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.chat_factories import stored_messages
from tests.conftest import register
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD


async def test_admin_approves_a_doctor_adds_a_clinic_and_retries_a_failed_notification(api, make_patient, open_page, db):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    pending = await register(api, "doctor", name=f"Dr Pending {tag}")
    patient = await make_patient()
    failed = Notification(
        recipient_id=PydanticObjectId(patient.id), channel="email", kind="appointment_reminder", category="reminders",
        template="appointment_reminder/email", idempotency_key=f"ui-test-{tag}", status="failed", attempts=6,
        # a complete context, so a worker running in the same session can send it after the retry
        context={"appointment_id": "0" * 24, "doctor_name": "Dr Who", "clinic_name": "Clinic", "start": "2030-01-07T10:00:00+00:00", "clinic_timezone": "UTC"},
        last_error="550 mailbox unavailable",
    )
    await failed.insert()

    page = await open_page()
    await page.login("/admin", ADMIN_EMAIL, ADMIN_PASSWORD)
    approve = page.page.get_by_role("button", name=f"Approve Dr Pending {tag}")
    await approve.click()
    await expect(approve).to_have_count(0)
    assert (await User.get(PydanticObjectId(pending["id"]))).approved is True

    await page.page.get_by_role("tab", name="Clinics").click()
    await page.page.get_by_label("Name").fill(f"North Clinic {tag}")
    await page.page.get_by_label("Time zone").select_option("Europe/Berlin")
    await page.page.get_by_role("button", name="Add clinic").click()
    await expect(page.page.locator(".clinic-list")).to_contain_text(f"North Clinic {tag} · Europe/Berlin")
    assert await Clinic.find_one({"name": f"North Clinic {tag}", "timezone": "Europe/Berlin"}) is not None

    await page.page.get_by_role("tab", name="Outbox").click()
    row = page.page.locator(f"tr[data-notification-id='{failed.id}']")
    await expect(row).to_contain_text("550 mailbox unavailable")
    await row.get_by_role("button", name="Retry").click()
    await expect(row).to_have_count(0)  # the list shows failed ones; it is queued again
    stored = await Notification.get(failed.id)
    # Queued again with its attempts reset (a worker in the session may already have sent it, or tried once).
    assert stored.status.value in ("queued", "sending", "sent", "delivered") or stored.attempts < 6


async def test_statistics_show_no_shows_and_median_first_response(api, admin, make_patient, make_doctor, open_page, db):  # noqa: F811
    tag = uuid.uuid4().hex[:6]
    doctor = await make_doctor(name=f"Dr Stats {tag}")
    patient = await make_patient()
    conv = (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).body["conversation"]["id"]
    for who, text in ((patient, "first"), (patient, "second"), (doctor, "reply"), (patient, "again"), (doctor, "reply 2")):
        resp = await api.post(f"/api/conversations/{conv}/messages", {"client_id": uuid.uuid4().hex, "body": text}, token=who.access_token)
        assert resp.status == 201
    stored = [m["created_at"] for m in await stored_messages(conv)]
    waits = sorted([(stored[2] - stored[0]).total_seconds(), (stored[4] - stored[3]).total_seconds()])
    yesterday = datetime.now(UTC) - timedelta(days=1)
    clinic = Clinic(name=f"Stats {tag}", timezone="UTC")
    await clinic.insert()
    await Appointment(
        patient_id=PydanticObjectId(patient.id), doctor_id=PydanticObjectId(doctor.id), resource_id=PydanticObjectId(doctor.id),
        clinic_id=clinic.id, start=yesterday, end=yesterday + timedelta(minutes=30), timezone="UTC", resource_name=doctor.name,
        clinic_name=clinic.name, status="no_show", holds_slot=True, client_id=tag, token=f"T{tag}",
    ).insert()

    resp = await api.get("/api/admin/stats", token=admin.access_token)
    assert resp.status == 200
    mine = [d for d in resp.body["doctors"] if d["doctor_id"] == doctor.id]
    assert mine == [{"doctor_id": doctor.id, "name": doctor.name, "replies": 2, "median_first_response_seconds": sum(waits) / 2}]
    day = [d for d in resp.body["appointments_per_day"] if d["date"] == yesterday.date().isoformat()]
    assert day and day[0]["no_show"] >= 1 and resp.body["no_shows"] >= 1
    assert (await api.get("/api/admin/stats", token=patient.access_token)).status == 403

    page = await open_page()
    await page.login("/admin", ADMIN_EMAIL, ADMIN_PASSWORD)
    await page.page.get_by_role("tab", name="Statistics").click()
    await expect(page.page.locator(f"tr[data-doctor-id='{doctor.id}']")).to_contain_text(doctor.name)
    await expect(page.page.locator("dd.no-shows")).not_to_have_text("0")
    await page.screenshot("admin-statistics")


async def test_patient_sets_quiet_hours_and_channels(make_patient, open_page, db):  # noqa: F811
    patient = await make_patient(phone="+14155550199")
    page = await open_page(viewport=PHONE)
    await page.login("/", patient.email)
    await page.page.get_by_role("tab", name="Preferences").click()
    await page.page.locator("#pref-messages-sms").check()
    await page.page.locator("#pref-reminders-email").uncheck()
    await page.page.locator("#quiet-on").check()
    await page.page.locator("#quiet-start").fill("21:30")
    await page.page.locator("#quiet-end").fill("06:45")
    await page.page.get_by_role("button", name="Save preferences").click()
    await expect(page.page.get_by_role("status").filter(has_text="Preferences saved.")).to_be_visible()
    prefs = await NotificationPreferences.find_one({"user_id": PydanticObjectId(patient.id)})
    assert prefs is not None
    stored = prefs.model_dump()
    assert "sms" in stored["channels"]["messages"] and "email" not in stored["channels"]["reminders"]
    assert stored["quiet_hours"]["start"] == "21:30" and stored["quiet_hours"]["end"] == "06:45"
