"""The whole record as FHIR R4 (Patient/$everything) and the CapabilityStatement, validated with fhir.resources."""

from __future__ import annotations

import base64
import uuid
from collections import Counter
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from bson import ObjectId
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from engage.models.audit import AuditEvent
from tests.booking_support import ALL_DAY
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.booking_support import make_scheduled_doctor
from tests.document_samples import scanned_image
from tests.document_samples import upload
from tests.vitals_helpers import relate
from tests.vitals_helpers import vital


pytestmark = pytest.mark.usefixtures("db")  # every test here checks what was stored.


async def a_full_record(api, patient, doctor) -> dict[str, str]:
    """One of everything in the patient's record; returns ids of what must and must not be exported."""
    base = f"/api/patients/{patient.id}"
    d = doctor.access_token
    note = (await api.post(base + "/encounters", {"subjective": "Tired", "assessment": "Diabetes follow-up", "plan": "Repeat HbA1c"}, token=d)).body["encounter"]
    assert (await api.post(f"{base}/encounters/{note['id']}/sign", token=d)).status == 200
    amend = {"subjective": "Tired, thirsty", "assessment": "Diabetes follow-up", "plan": "Repeat HbA1c", "reason": "Symptom added"}
    assert (await api.post(f"{base}/encounters/{note['id']}/amend", amend, token=d)).status == 200
    draft = (await api.post(base + "/encounters", {"subjective": "Unfinished"}, token=d)).body["encounter"]
    assert (await api.post(base + "/problems", {"condition": "Type 2 diabetes mellitus", "icd10": "E11.9", "onset": "2019-04-01"}, token=d)).status == 201
    assert (await api.post(base + "/allergies", {"substance": "Penicillin", "reaction": "Hives", "severity": "severe"}, token=d)).status == 201
    lab = {"test_name": "HbA1c", "value": 7.2, "unit": "%", "ref_low": 4.0, "ref_high": 5.6}
    assert (await api.post(base + "/lab-results", lab, token=d)).status == 201
    wrong = (await api.post(base + "/lab-results", {**lab, "value": 9.9}, token=d)).body["lab_result"]
    assert (await api.post(f"{base}/record/lab-results/{wrong['id']}/entered-in-error", {"reason": "Another patient's sample"}, token=d)).status == 200
    assert (await api.post(base + "/lab-results", {"test_name": "Ferritin", "value": 30, "unit": "ng/mL"}, token=d)).status == 201  # unknown to the catalogue
    today = datetime.now(UTC).date()
    rx = {"drug": "Metformin", "dose": "500 mg", "times": ["08:00", "20:00"], "start_date": str(today), "end_date": str(today + timedelta(days=30))}
    assert (await api.post(base + "/prescriptions", rx, token=d)).status == 201
    assert (await api.post("/api/vitals", vital("heart_rate", 72), token=patient.access_token)).status == 201
    assert (await upload(api, patient.access_token, patient.id, scanned_image(), filename="lab.png")).status == 201
    return {"note": note["id"], "draft": draft["id"], "wrong": wrong["id"]}


async def test_everything_is_a_valid_bundle_of_the_whole_record(api, make_patient, make_doctor):
    patient, doctor = await make_patient(phone="+14155550142"), await make_doctor()
    await relate(doctor.id, patient.id)
    ids = await a_full_record(api, patient, doctor)
    resp = await api.get(f"/fhir/Patient/{patient.id}/$everything", token=patient.access_token)
    assert resp.status == 200, resp.body
    assert resp.headers["Content-Type"].startswith("application/fhir+json") and resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="record-{patient.id}.fhir.json"'
    bundle = Bundle.model_validate(resp.body)  # every resource validated by fhir.resources
    assert bundle.type == "searchset" and bundle.total == len(bundle.entry)
    resources = [e.resource for e in bundle.entry]
    kinds = Counter(r.get_resource_type() for r in resources)
    assert kinds == {"Patient": 1, "Encounter": 1, "Condition": 1, "AllergyIntolerance": 1, "Observation": 3, "MedicationRequest": 1, "DocumentReference": 2}
    by_id = {r.id: r for r in resources}
    assert ids["draft"] not in by_id and ids["wrong"] not in by_id  # only what the record stands by
    patient_resource = next(r for r in resources if r.get_resource_type() == "Patient")
    assert patient_resource.id == patient.id and {t.value for t in patient_resource.telecom} == {patient.email, "+14155550142"}
    hba1c = next(r for r in resources if r.get_resource_type() == "Observation" and r.code.text == "HbA1c")
    assert (hba1c.code.coding[0].system, hba1c.code.coding[0].code) == ("http://loinc.org", "4548-4")
    assert (float(hba1c.valueQuantity.value), hba1c.valueQuantity.system, hba1c.valueQuantity.code) == (7.2, "http://unitsofmeasure.org", "%")
    assert hba1c.interpretation[0].coding[0].code == "H" and float(hba1c.referenceRange[0].high.value) == 5.6
    ferritin = next(r for r in resources if r.get_resource_type() == "Observation" and r.code.text == "Ferritin")
    assert ferritin.code.coding is None and ferritin.valueQuantity.code == "ng/mL"
    heart = next(r for r in resources if r.get_resource_type() == "Observation" and r.category[0].coding[0].code == "vital-signs")
    assert heart.code.coding[0].code == "8867-4"
    condition = next(r for r in resources if r.get_resource_type() == "Condition")
    assert condition.code.coding[0].code == "E11.9" and condition.clinicalStatus.coding[0].code == "active"
    note = by_id[f"note-{ids['note']}"]
    raw_note = next(e["resource"] for e in resp.body["entry"] if e["resource"]["id"] == note.id)
    text = base64.b64decode(raw_note["content"][0]["attachment"]["data"]).decode()
    assert "Tired, thirsty" in text and "Symptom added" in text and note.docStatus == "amended"
    uploaded = next(r for r in resources if r.get_resource_type() == "DocumentReference" and r.id != note.id)
    assert uploaded.content[0].attachment.contentType == "image/png" and uploaded.content[0].attachment.url == f"/api/documents/{uploaded.id}"
    medication = next(r for r in resources if r.get_resource_type() == "MedicationRequest")
    assert medication.medicationCodeableConcept.text == "Metformin" and medication.status == "active"


async def test_a_booked_and_completed_appointment_is_exported_and_its_note_refers_to_it(api, make_patient, make_doctor, admin):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY)
    patient = await make_patient()
    body = {"doctor_id": doctor.id, "start": local_slot(future_day(4), "10:00"), "client_id": uuid.uuid4().hex}
    booked = await api.post("/api/appointments", body, token=patient.access_token)
    assert booked.status == 201, booked.body
    appointment = booked.body["appointment"]
    note = await api.post(f"/api/patients/{patient.id}/encounters", {"appointment_id": appointment["id"], "subjective": "Annual review"}, token=doctor.access_token)
    assert note.status == 201, note.body
    assert (await api.post(f"/api/patients/{patient.id}/encounters/{note.body['encounter']['id']}/sign", token=doctor.access_token)).status == 200
    resp = await api.get(f"/fhir/Patient/{patient.id}/$everything", token=doctor.access_token)
    assert resp.status == 200, resp.body
    resources = {e.resource.id: e.resource for e in Bundle.model_validate(resp.body).entry}
    exported = resources[appointment["id"]]
    assert exported.status == "booked" and exported.participant[0].actor.reference == f"Patient/{patient.id}"
    assert resources[note.body["encounter"]["id"]].appointment[0].reference == f"Appointment/{appointment['id']}"
    timeline = await api.get("/api/me/record", params={"kinds": "appointment,encounter"}, token=patient.access_token)
    assert {i["kind"] for i in timeline.body["items"]} == {"appointment", "encounter"}


async def test_a_doctors_export_is_audited_and_outsiders_get_404(api, make_patient, make_doctor):
    patient, doctor = await make_patient(), await make_doctor()
    await relate(doctor.id, patient.id)
    assert (await api.get(f"/fhir/Patient/{patient.id}/$everything", token=doctor.access_token)).status == 200
    assert (await api.get(f"/fhir/Patient/{patient.id}/$everything", token=patient.access_token)).status == 200
    audited = await AuditEvent.find({"subject_id": ObjectId(patient.id), "action": "record.fhir_export"}).to_list()
    assert [str(a.actor_id) for a in audited] == [doctor.id]
    outsider = await make_doctor()
    real = await api.get(f"/fhir/Patient/{patient.id}/$everything", token=outsider.access_token)
    made_up = await api.get(f"/fhir/Patient/{ObjectId()}/$everything", token=outsider.access_token)
    assert real.status == made_up.status == 404 and real.body == made_up.body
    assert (await api.get(f"/fhir/Patient/{patient.id}/$everything")).status == 401


async def test_the_capability_statement_lists_what_is_served(api):
    resp = await api.get("/fhir/metadata")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("application/fhir+json")
    statement = CapabilityStatement.model_validate(resp.body)
    assert statement.fhirVersion == "4.0.1"
    served = {r.type: r for r in statement.rest[0].resource}
    assert set(served) == {"Patient", "Encounter", "Condition", "AllergyIntolerance", "Observation", "MedicationRequest", "DocumentReference", "Appointment"}
    assert served["Patient"].operation[0].name == "everything"
    assert [p.name for p in served["Observation"].searchParam] == ["patient", "_count"]
