"""The record in a real browser: a doctor writes, signs and amends a note in the console and the
patient reads it; a patient uploads a scanned lab report whose value the doctor accepts into the
record; the patient downloads their whole record as FHIR."""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from beanie import PydanticObjectId
from bson import ObjectId
from fhir.resources.R4B.bundle import Bundle
from playwright.async_api import expect

from engage.models.appointment import Appointment
from engage.models.records import Encounter
from engage.models.records import LabResult
from tests.booking_support import ALL_DAY
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.booking_support import make_scheduled_doctor
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.document_samples import scanned_image

PROCESSING_TIMEOUT = 120_000  # OCR in the worker on a busy machine, in ms


async def patient_with_doctor(api, make_patient, make_doctor):
    """A patient who messaged a doctor: the doctor is in their care team and finds them in the console."""
    patient, doctor = await make_patient(), await make_doctor()
    assert (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).status == 201
    return patient, doctor


async def open_record_in_console(open_page, doctor, patient):  # noqa: F811
    console = await open_page()
    await console.login("/console", doctor.email)
    await console.page.get_by_role("tab", name="Record").click()
    await console.page.locator("#record-patient").select_option(patient.id)
    await expect(console.page.locator(".note-status")).to_have_text("New note")
    return console


async def test_a_doctor_writes_signs_and_amends_a_note_and_the_patient_reads_it(api, make_patient, make_doctor, open_page, db):  # noqa: F811
    patient, doctor = await patient_with_doctor(api, make_patient, make_doctor)
    console = await open_record_in_console(open_page, doctor, patient)
    editor = console.page.locator(".note-editor")
    await editor.get_by_label("Subjective").fill("Knee pain for two weeks")
    await editor.get_by_label("Assessment").fill("Likely osteoarthritis")
    await editor.get_by_role("button", name="Save draft").click()
    await expect(editor.locator(".note-status")).to_have_text("Draft")
    await editor.get_by_label("Plan").fill("Knee x-ray, paracetamol")
    await editor.get_by_role("button", name="Sign note").click()
    await expect(editor.locator(".note-status")).to_contain_text("Signed, version 1")
    note = await Encounter.find_one({"patient_id": PydanticObjectId(patient.id)})
    assert note.status == "signed" and note.soap.plan == "Knee x-ray, paracetamol" and note.soap.subjective == "Knee pain for two weeks"

    await editor.get_by_label("Plan").fill("Knee x-ray, ibuprofen gel")
    await editor.get_by_label("Amendment reason").fill("Paracetamol already tried")
    await editor.get_by_role("button", name="Save amendment").click()
    await expect(editor.locator(".note-status")).to_contain_text("Signed, version 2")
    timeline = console.page.get_by_role("list", name="Timeline")
    await expect(timeline.locator("[data-kind=encounter]")).to_contain_text("amended, version 2")

    app = await open_page()
    await app.login("/", patient.email)
    await app.page.get_by_role("tab", name="My record").click()
    mine = app.page.get_by_role("list", name="My record")
    await expect(mine.locator("[data-kind=encounter]")).to_contain_text("Knee x-ray, ibuprofen gel")
    await expect(mine.locator("[data-kind=encounter]")).to_contain_text("Likely osteoarthritis")


async def test_an_uploaded_image_becomes_an_accepted_lab_result(api, make_patient, make_doctor, open_page, worker, tmp_path, db):  # noqa: F811
    patient, doctor = await patient_with_doctor(api, make_patient, make_doctor)
    scan = tmp_path / "hba1c.png"
    scan.write_bytes(scanned_image(["Laboratory report", "HbA1c 7.2 %"]))

    app = await open_page()
    await app.login("/", patient.email)
    await app.wait_socket()
    await app.page.get_by_role("tab", name="My record").click()
    await app.page.locator("#record-upload").set_input_files(str(scan))
    await app.page.get_by_role("button", name="Upload document").click()
    uploads = app.page.get_by_role("list", name="My uploads")
    await expect(uploads.locator("li[data-status=processed]")).to_have_count(1, timeout=PROCESSING_TIMEOUT)

    console = await open_record_in_console(open_page, doctor, patient)
    suggestion = console.page.locator(".suggestion", has_text="HbA1c 7.2")
    await expect(suggestion).to_have_attribute("data-status", "pending")
    await suggestion.get_by_role("button", name="Accept").click()
    results = console.page.get_by_role("list", name="Results")
    await expect(results.locator("li")).to_contain_text("HbA1c 7.2 %")
    await expect(console.page.locator(".suggestion", has_text="HbA1c 7.2")).to_have_attribute("data-status", "accepted")
    stored = await LabResult.find_one({"patient_id": PydanticObjectId(patient.id)})
    assert stored.test_name == "HbA1c" and stored.value == 7.2 and stored.unit == "%" and stored.document_id is not None

    await app.page.get_by_role("tab", name="Messages").click()
    await app.page.get_by_role("tab", name="My record").click()
    await expect(app.page.get_by_role("list", name="My record").locator("[data-kind=lab_result]")).to_contain_text("HbA1c 7.2 %")


async def test_the_patient_downloads_their_record_as_fhir(api, make_patient, make_doctor, open_page):  # noqa: F811
    patient, doctor = await patient_with_doctor(api, make_patient, make_doctor)
    body = {"test_name": "HbA1c", "value": 6.1, "unit": "%", "ref_high": 5.6}
    assert (await api.post(f"/api/patients/{patient.id}/lab-results", body, token=doctor.access_token)).status == 201
    app = await open_page()
    await app.login("/", patient.email)
    await app.page.get_by_role("tab", name="My record").click()
    await expect(app.page.get_by_role("list", name="My record").locator("[data-kind=lab_result]")).to_contain_text("Higher than the expected range")
    async with app.page.expect_download() as download_info:
        await app.page.get_by_role("button", name="Download my record (FHIR)").click()
    download = await download_info.value
    assert download.suggested_filename == f"record-{patient.id}.fhir.json"
    bundle = Bundle.model_validate(json.loads(Path(await download.path()).read_text(encoding="utf-8")))
    kinds = sorted(e.resource.get_resource_type() for e in bundle.entry)
    assert kinds == ["Observation", "Patient"] and bundle.entry[0].resource.id == patient.id


async def test_completing_an_appointment_offers_to_write_its_note(api, make_patient, make_doctor, admin, open_page, db):  # noqa: F811
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY)
    patient = await make_patient()
    booked = await api.post("/api/appointments", {"doctor_id": doctor.id, "start": local_slot(future_day(2), "10:00"), "client_id": uuid.uuid4().hex},
                            token=patient.access_token)
    assert booked.status == 201, booked.body
    appointment = booked.body["appointment"]
    # The visit has just begun: moved to now in the database (booking refuses times in the past).
    start = datetime.now(UTC) - timedelta(seconds=30)
    await Appointment.get_pymongo_collection().update_one({"_id": ObjectId(appointment["id"])}, {"$set": {"start": start, "end": start + timedelta(minutes=30)}})

    console = await open_page()
    await console.login("/console", doctor.email)
    await console.page.get_by_role("tab", name="Today").click()
    row = console.page.locator(f"li[data-appointment-id='{appointment['id']}']")
    await row.get_by_role("button", name="Completed").click()
    await row.get_by_role("button", name="Write note").click()
    editor = console.page.locator(".note-editor")
    await expect(editor.locator(".note-status")).to_contain_text("New note for the visit of")
    await editor.get_by_label("Subjective").fill("Follow-up after the visit")
    await editor.get_by_role("button", name="Sign note").click()
    await expect(editor.locator(".note-status")).to_contain_text("Signed, version 1")
    note = await Encounter.find_one({"patient_id": PydanticObjectId(patient.id)})
    assert str(note.appointment_id) == appointment["id"] and note.status == "signed"
