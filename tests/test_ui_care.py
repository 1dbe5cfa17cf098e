"""Care relations in a real browser: a doctor takes emergency access in the console, the patient
sees it live in their Privacy tab with who looked and why, and the admin finds it in the audit log."""

from __future__ import annotations


from beanie import PydanticObjectId
from playwright.async_api import expect

from engage.models.audit import AuditEvent

from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.waiting import wait_until

REASON = "Found unresponsive in the waiting room"


async def test_emergency_access_from_the_console_shows_in_the_patients_privacy_tab_and_the_audit_log(api, make_patient, make_doctor, open_page, db):  # noqa: F811
    patient, regular, doctor = await make_patient(), await make_doctor(), await make_doctor()
    assert (await api.post("/api/conversations", {"doctor_id": regular.id}, token=patient.access_token)).status == 201

    patient_page = await open_page()
    await patient_page.login("/", patient.email)
    await patient_page.wait_socket()
    await patient_page.page.get_by_role("tab", name="Privacy").click()
    team = patient_page.page.locator(".care-team")
    await expect(team.locator("li")).to_have_count(1)
    await expect(team).to_contain_text(regular.name)
    await expect(team).to_contain_text("You messaged them")

    console = await open_page()
    await console.login("/console", doctor.email)
    await console.page.get_by_role("tab", name="Emergency access").click()
    await console.page.get_by_label("Patient id").fill(patient.id)
    await console.page.get_by_label("Reason").fill(REASON)
    await console.page.get_by_role("button", name="Open emergency access").click()
    # the console switches to the patient's context, which reads their vitals under the new access
    await expect(console.page.locator(".context-pane h2")).to_have_text("Patient (emergency access)")

    # the patient's open tab learns of it at once, with who and why
    emergency = team.locator("li[data-source=emergency]")
    await expect(emergency).to_contain_text(doctor.name)
    await expect(emergency).to_contain_text(REASON)
    log = patient_page.page.get_by_role("table", name="Who looked at your health data")
    await expect(log.locator("tr[data-action='care.emergency_access']")).to_contain_text(doctor.name)
    # the console has read the vitals meanwhile; showing the tab again lists that look, flagged
    await wait_until(lambda: AuditEvent.find_one({"subject_id": PydanticObjectId(patient.id), "action": "vitals.read"}))
    await patient_page.page.get_by_role("tab", name="Messages").click()
    await patient_page.page.get_by_role("tab", name="Privacy").click()
    await expect(log.locator("tr[data-action='vitals.read']")).to_contain_text("Emergency")

    admin_page = await open_page()
    await admin_page.login("/admin", ADMIN_EMAIL, ADMIN_PASSWORD)
    await admin_page.page.get_by_role("tab", name="Audit log").click()
    await admin_page.page.get_by_label("Filter by patient id").fill(patient.id)
    await admin_page.page.get_by_label("Emergency access only").check()
    audit = admin_page.page.get_by_role("table", name="Audit log")
    await expect(audit.locator("tr[data-action='care.emergency_access']")).to_contain_text(REASON)
    await expect(audit.locator("tbody tr")).not_to_have_count(0)
    # The filter reloads the table: wait until no row without the emergency flag is left.
    await expect(audit.locator("tbody tr").filter(has_not_text="Emergency")).to_have_count(0)


async def test_a_short_reason_is_refused_in_the_console(make_patient, make_doctor, open_page):  # noqa: F811
    patient, doctor = await make_patient(), await make_doctor()
    console = await open_page()
    console.expect_console_error("422")
    await console.login("/console", doctor.email)
    await console.page.get_by_role("tab", name="Emergency access").click()
    await console.page.get_by_label("Patient id").fill(patient.id)
    await console.page.get_by_label("Reason").fill("urgent")
    await console.page.get_by_role("button", name="Open emergency access").click()
    await expect(console.page.locator("#panel-emergency .error")).to_be_visible()
    await expect(console.page.locator("#panel-emergency .error")).to_contain_text("reason")
