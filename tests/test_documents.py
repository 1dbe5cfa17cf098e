"""Documents: uploads checked from their bytes and stored in GridFS (whole or not at all), streamed
downloads, the RQ job's text (PDF text and OCR), suggestions a doctor accepts or rejects, the
summary (extractive offline, an LLM through a local recording server), document:processed."""

from __future__ import annotations

import json

import pytest
from bson import ObjectId
from fhir.resources.R4B.bundle import Bundle

from engage.actions.documents import do_process_document
from engage.models.audit import AuditEvent
from engage.models.document import MedicalDocument
from engage.models.records import LabResult
from schemas.records import DocumentProcessedEvent
from tests.llm_server import llm_stack as recording_llm_stack
from tests.document_samples import pdf_bomb
from tests.document_samples import scanned_image
from tests.document_samples import scanned_pdf
from tests.document_samples import text_pdf
from tests.document_samples import upload
from tests.vitals_helpers import raw_db
from tests.vitals_helpers import relate

PROCESSING_TIMEOUT = 120  # OCR on a busy 2-core machine


pytestmark = pytest.mark.usefixtures("db")  # every test here checks what was stored.


async def care_pair(make_patient, make_doctor, **patient_fields):
    patient, doctor = await make_patient(**patient_fields), await make_doctor()
    await relate(doctor.id, patient.id)
    return patient, doctor


async def processed(sock, document_id: str) -> DocumentProcessedEvent:
    data = await sock.wait_for("document:processed", lambda d: d["document"]["id"] == document_id, timeout=PROCESSING_TIMEOUT)
    return DocumentProcessedEvent.model_validate(data)


async def stored_counts(patient_id: str) -> tuple[int, int]:
    """(document records, GridFS files) of one patient."""
    records = await MedicalDocument.find({"patient_id": ObjectId(patient_id)}).count()
    files = await raw_db()["document_files.files"].count_documents({"metadata.patient_id": ObjectId(patient_id)})
    return records, files


async def test_a_pdf_with_text_is_read_and_its_values_suggested(api, make_patient, make_doctor, connect, worker):
    patient, _ = await care_pair(make_patient, make_doctor)
    sock = await connect(patient.access_token)
    resp = await upload(api, patient.access_token, patient.id, text_pdf(), filename="lab report.pdf")
    assert resp.status == 201, resp.body
    document = resp.body["document"]
    assert document["status"] == "processing" and document["content_type"] == "application/pdf" and document["filename"] == "lab_report.pdf"
    event = (await processed(sock, document["id"])).document
    assert event.status == "processed" and event.text_method == "pdf_text" and event.pages == 1
    assert "HbA1c 7.2 % (4.0-5.6)" in event.text
    labs = {s.fields["test_name"]: s.fields for s in event.suggestions if s.kind == "lab"}
    assert labs["HbA1c"] == {"test_name": "HbA1c", "loinc": "4548-4", "value": 7.2, "unit": "%", "ref_low": 4.0, "ref_high": 5.6}
    assert labs["Potassium"]["value"] == 4.1 and labs["Potassium"]["unit"] == "mmol/L"
    assert [(s.fields["drug"], s.fields["strength"]) for s in event.suggestions if s.kind == "medication"] == [("Metformin", "500 mg")]
    assert all(s.status == "pending" for s in event.suggestions)
    assert event.summary_provider == "extractive" and "HbA1c 7.2 %" in event.summary and "Impression" in event.summary
    # Nothing entered the record unconfirmed.
    assert await LabResult.find({"patient_id": ObjectId(patient.id)}).count() == 0
    # The text is searchable, typos and all.
    found = await api.get(f"/api/patients/{patient.id}/record/search", params={"q": "glycaemic contol"}, token=patient.access_token)
    assert [(h["kind"], h["id"]) for h in found.body["hits"]] == [("document", event.id)]
    assert "glycaemic control" in found.body["hits"][0]["snippet"]


async def test_a_scanned_image_is_read_by_ocr_and_its_value_accepted_into_the_record(api, make_patient, make_doctor, connect, worker):
    patient, doctor = await care_pair(make_patient, make_doctor)
    sock = await connect(doctor.access_token)
    assert (await sock.call("vitals:watch", {"patient_id": patient.id}))["ok"]  # the watching care team is told
    resp = await upload(api, patient.access_token, patient.id, scanned_image(fmt="JPEG"), filename="photo.jpg")
    assert resp.status == 201, resp.body
    event = (await processed(sock, resp.body["document"]["id"])).document
    assert event.text_method == "ocr" and "HbA1c 7.2 %" in event.text
    suggestion = next(s for s in event.suggestions if s.kind == "lab" and s.fields["test_name"] == "HbA1c")
    assert suggestion.fields["value"] == 7.2 and suggestion.fields["unit"] == "%"
    base = f"/api/patients/{patient.id}/documents/{event.id}/suggestions/{suggestion.id}"
    assert (await api.post(base + "/accept", {}, token=patient.access_token)).status == 403
    accepted = await api.post(base + "/accept", {"lab": {"ref_low": 4.0, "ref_high": 5.6}}, token=doctor.access_token)
    assert accepted.status == 200, accepted.body
    result = accepted.body["lab_result"]
    assert result["test_name"] == "HbA1c" and result["value"] == 7.2 and result["flag"] == "high" and result["document_id"] == event.id
    assert accepted.body["suggestion"]["status"] == "accepted" and accepted.body["suggestion"]["created_id"] == result["id"]
    again = await api.post(base + "/accept", {}, token=doctor.access_token)
    assert again.status == 409 and again.error_code == "already_decided"
    record = await api.get("/api/me/record", params={"kinds": "lab_result"}, token=patient.access_token)
    assert [i["data"]["value"] for i in record.body["items"]] == [7.2]
    glucose = next(s for s in event.suggestions if s.kind == "lab" and s.fields["test_name"] == "Glucose")
    rejected = await api.post(f"/api/patients/{patient.id}/documents/{event.id}/suggestions/{glucose.id}/reject", token=doctor.access_token)
    assert rejected.status == 200 and rejected.body["suggestion"]["status"] == "rejected" and rejected.body["lab_result"] is None
    assert await LabResult.find({"patient_id": ObjectId(patient.id)}).count() == 1
    # Exported: the confirmed value as an Observation derived from the document.
    exported = await api.get(f"/fhir/Patient/{patient.id}/$everything", token=patient.access_token)
    resources = {e.resource.id: e.resource for e in Bundle.model_validate(exported.body).entry}
    observation = resources[result["id"]]
    assert observation.code.coding[0].code == "4548-4" and observation.derivedFrom[0].reference == f"DocumentReference/{event.id}"
    assert resources[event.id].content[0].attachment.contentType == "image/jpeg"


async def test_a_scanned_pdf_page_is_read_by_ocr(api, make_patient, make_doctor, connect, worker):
    patient, _ = await care_pair(make_patient, make_doctor)
    sock = await connect(patient.access_token)
    resp = await upload(api, patient.access_token, patient.id, scanned_pdf(), filename="scan.pdf")
    assert resp.status == 201, resp.body
    event = (await processed(sock, resp.body["document"]["id"])).document
    assert event.text_method == "ocr" and "HbA1c 7.2" in event.text


async def test_a_medication_suggestion_becomes_a_prescription_only_with_its_schedule(api, make_patient, make_doctor, connect, worker):
    patient, doctor = await care_pair(make_patient, make_doctor)
    sock = await connect(doctor.access_token)
    resp = await upload(api, doctor.access_token, patient.id, text_pdf())
    event = (await processed(sock, resp.body["document"]["id"])).document
    suggestion = next(s for s in event.suggestions if s.kind == "medication")
    base = f"/api/patients/{patient.id}/documents/{event.id}/suggestions/{suggestion.id}/accept"
    missing = await api.post(base, {}, token=doctor.access_token)
    assert missing.status == 422 and missing.body["error"]["field"] == "prescription"
    body = {"prescription": {"drug": "Metformin", "dose": "500 mg", "times": ["08:00", "20:00"], "start_date": "2026-12-07", "end_date": "2027-01-06"}}
    accepted = await api.post(base, body, token=doctor.access_token)
    assert accepted.status == 200, accepted.body
    assert accepted.body["prescription"]["drug"] == "Metformin" and accepted.body["suggestion"]["created_id"] == accepted.body["prescription"]["id"]


async def test_the_download_streams_the_stored_bytes_from_any_web_process(api, make_patient, make_doctor, http_session, web2):
    patient, doctor = await care_pair(make_patient, make_doctor)
    image = scanned_image()
    resp = await upload(api, patient.access_token, patient.id, image, filename="../../etc/passwd.pdf")  # a PNG, whatever its name says
    assert resp.status == 201, resp.body
    document = resp.body["document"]
    assert document["content_type"] == "image/png" and document["filename"] == "passwd.png"
    # The bytes live in GridFS on the database server, so the other web process serves them too.
    stored = await raw_db()["document_files.files"].find_one({"_id": ObjectId((await MedicalDocument.get(ObjectId(document["id"]))).file_id)})
    assert stored["length"] == len(image)
    before = await AuditEvent.find({"subject_id": ObjectId(patient.id), "action": "record.document_download"}).count()
    for base_url in (api.base_url, web2.url):
        async with http_session.get(f"{base_url}/api/documents/{document['id']}", headers={"Authorization": f"Bearer {doctor.access_token}"}) as got:
            assert got.status == 200
            assert await got.read() == image
            assert got.headers["Content-Type"] == "image/png"
            assert got.headers["Content-Disposition"] == 'attachment; filename="passwd.png"'
            assert got.headers["Cache-Control"] == "no-store"
    assert await AuditEvent.find({"subject_id": ObjectId(patient.id), "action": "record.document_download"}).count() == before + 2
    outsider = await make_doctor()
    assert (await api.get(f"/api/documents/{document['id']}", token=outsider.access_token)).status == 404
    assert (await api.get(f"/api/documents/{ObjectId()}", token=outsider.access_token)).status == 404


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


BAD_UPLOADS = {
    "text named .pdf": (b"just some text, not a PDF", "notes.pdf", 415, "unsupported_type"),
    "html named .png": (b"<html><script>alert(1)</script></html>", "x.png", 415, "unsupported_type"),
    "empty": (b"", "empty.pdf", 422, "empty_document"),
    "one byte over 10 MB": (b"%PDF-" + b"0" * (10 * 1024 * 1024 - 4), "big.pdf", 413, "document_too_large"),
    "far over 10 MB": (b"%PDF-" + b"0" * (12 * 1024 * 1024), "huge.pdf", 413, "document_too_large"),
    "PDF bomb": (pdf_bomb(), "bomb.pdf", 422, "document_too_complex"),
    "truncated PNG": (_truncated(scanned_image()), "cut.png", 422, "unreadable_document"),
    "truncated JPEG": (_truncated(scanned_image(fmt="JPEG")), "cut.jpg", 422, "unreadable_document"),
    "garbage after a PDF header": (b"%PDF-1.7\n" + bytes(range(256)) * 20, "broken.pdf", 422, "unreadable_document"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
async def test_bad_uploads_get_a_clear_4xx_and_nothing_is_stored(api, make_patient, case):
    patient = await make_patient()
    data, filename, status, code = BAD_UPLOADS[case]
    resp = await upload(api, patient.access_token, patient.id, data, filename=filename)
    assert resp.status == status, resp.body
    assert resp.error_code == code and resp.body["error"]["field"] == "file"
    assert await stored_counts(patient.id) == (0, 0)


async def test_an_upload_must_be_multipart_with_a_file_part(api, make_patient):
    patient = await make_patient()
    raw = await api.request("POST", f"/api/patients/{patient.id}/documents", data=text_pdf(), headers={"Content-Type": "application/pdf"}, token=patient.access_token)
    assert raw.status == 415 and raw.error_code == "multipart_required"
    empty_form = await api.request("POST", f"/api/patients/{patient.id}/documents", data={"note": "no file"}, token=patient.access_token)
    assert empty_form.status in (415, 422)
    assert await stored_counts(patient.id) == (0, 0)


async def test_documents_are_listed_newest_first_and_leave_the_list_when_entered_in_error(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    ids = []
    for name in ("first.pdf", "second.pdf", "third.pdf"):
        resp = await upload(api, patient.access_token, patient.id, text_pdf(), filename=name)
        ids.append(resp.body["document"]["id"])
    page = await api.get(f"/api/patients/{patient.id}/documents", params={"limit": "2"}, token=doctor.access_token)
    assert [d["id"] for d in page.body["documents"]] == ids[::-1][:2] and page.body["next_before"]
    assert all(d["text"] is None for d in page.body["documents"])
    rest = await api.get(f"/api/patients/{patient.id}/documents", params={"limit": "2", "before": page.body["next_before"]}, token=doctor.access_token)
    assert [d["id"] for d in rest.body["documents"]] == [ids[0]] and rest.body["next_before"] is None
    marked = await api.post(f"/api/patients/{patient.id}/record/documents/{ids[1]}/entered-in-error", {"reason": "Another patient's report"}, token=doctor.access_token)
    assert marked.status == 200
    listed = await api.get(f"/api/patients/{patient.id}/documents", token=patient.access_token)
    assert [d["id"] for d in listed.body["documents"]] == [ids[2], ids[0]]
    assert await stored_counts(patient.id) == (3, 3)  # kept, never deleted


# ---- the LLM summary ---------------------------------------------------------------------------


def llm_reply(body: dict) -> str:
    if "search keywords" in body["messages"][0]["content"]:
        return json.dumps({"keywords": "HbA1c glycated hemoglobin glucose"})
    return json.dumps({"summary": "HbA1c is 7.2 %, above target; the report recommends a treatment review."})

@pytest.fixture(scope="module")
async def llm_stack(engage_environment, tmp_root, http_session, web):
    """A web process and a worker configured with an LLM, on their own RQ queues (Redis db 8)."""
    async with recording_llm_stack(llm_reply, engage_environment, tmp_root, http_session, redis_db=8, timeout_seconds=2) as stack:
        yield stack


async def test_the_llm_summarises_without_names_ids_or_contacts(llm_stack, make_patient, connect):
    llm, api_llm, web_llm = llm_stack
    llm.mode = "ok"
    patient = await make_patient(name="Zelda Quartermain", phone="+14155550142")
    sock = await connect(patient.access_token, url=web_llm.url)
    resp = await upload(api_llm, patient.access_token, patient.id, text_pdf(report_with_identifiers(patient.email)))
    assert resp.status == 201, resp.body
    event = (await processed(sock, resp.body["document"]["id"])).document
    assert event.summary_provider == "llm" and event.summary.startswith("HbA1c is 7.2 %")
    raw = llm.requests[-1]["raw"]
    for identifier in ("Zelda", "Quartermain", patient.email, "415 555 0142", "4155550142", patient.id, event.id, "MRN-88412097"):
        assert identifier not in raw, identifier
    assert "HbA1c 7.2 %" in raw and "Metformin" in raw


async def test_an_llm_failure_falls_back_to_the_extractive_summary(llm_stack, make_patient, connect):
    llm, api_llm, web_llm = llm_stack
    llm.mode = "error"
    patient = await make_patient()
    sock = await connect(patient.access_token, url=web_llm.url)
    resp = await upload(api_llm, patient.access_token, patient.id, text_pdf())
    event = (await processed(sock, resp.body["document"]["id"])).document
    assert event.summary_provider == "extractive" and "HTTP 500" in event.summary_fallback_reason and "HbA1c 7.2 %" in event.summary


def report_with_identifiers(email: str) -> list[str]:
    return [
        "Patient: Zelda Quartermain",
        f"Contact Zelda at {email} or +1 415 555 0142.",
        "Record MRN-88412097, requested by the clinic.",
        "HbA1c 7.2 % (4.0-5.6)",
        "Continue Metformin 500 mg twice daily.",
    ]


async def test_processing_twice_changes_nothing(api, make_patient, make_doctor, connect, worker):
    """The job is safe to run again (RQ may retry it): a processed document is skipped."""
    patient, _ = await care_pair(make_patient, make_doctor)
    sock = await connect(patient.access_token)
    resp = await upload(api, patient.access_token, patient.id, text_pdf())
    event = (await processed(sock, resp.body["document"]["id"])).document
    assert await do_process_document(event.id) == "skipped"
    stored = await MedicalDocument.get(ObjectId(event.id))
    assert [s.id for s in stored.suggestions] == [s.id for s in event.suggestions]


async def test_the_llm_rephrases_a_record_search_from_the_query_alone(llm_stack, make_patient, make_doctor):
    llm, api_llm, _ = llm_stack
    llm.mode = "ok"
    patient, doctor = await care_pair(make_patient, make_doctor, name="Zelda Quartermain")
    body = {"test_name": "HbA1c", "value": 7.2, "unit": "%", "ref_high": 5.6}
    assert (await api_llm.post(f"/api/patients/{patient.id}/lab-results", body, token=doctor.access_token)).status == 201
    found = await api_llm.get(f"/api/patients/{patient.id}/record/search", params={"q": "how is my diabetes control"}, token=patient.access_token)
    assert found.status == 200, found.body
    assert found.body["rephrased"] == "HbA1c glycated hemoglobin glucose"
    assert [h["title"] for h in found.body["hits"]] == ["HbA1c 7.2 %"]
    raw = llm.requests[-1]["raw"]
    assert "how is my diabetes control" in raw
    for identifier in ("Zelda", "Quartermain", patient.id, "7.2"):
        assert identifier not in raw, identifier
    llm.mode = "error"  # a failing provider: the words as typed are searched
    plain = await api_llm.get(f"/api/patients/{patient.id}/record/search", params={"q": "hba1c"}, token=patient.access_token)
    assert plain.status == 200 and plain.body["rephrased"] is None and [h["title"] for h in plain.body["hits"]] == ["HbA1c 7.2 %"]


async def test_a_document_that_cannot_be_read_is_marked_failed_and_announced(make_patient, connect):
    """The job never leaves a document processing: an unreadable file ends as failed, and the uploader is told."""
    patient = await make_patient()
    sock = await connect(patient.access_token)
    # A record whose file is gone from GridFS (never queued: the job is run here).
    document = MedicalDocument(patient_id=ObjectId(patient.id), uploaded_by=ObjectId(patient.id), uploader_role="patient", filename="lost.pdf",
                               content_type="application/pdf", size=10, sha256="0" * 64, file_id=ObjectId())
    await document.insert()
    assert await do_process_document(str(document.id)) == "failed"
    event = (await processed(sock, str(document.id))).document
    assert event.status == "failed" and event.failure.startswith("NoFile") and event.suggestions == []
    assert await do_process_document(str(document.id)) == "skipped"
