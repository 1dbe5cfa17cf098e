"""Searching the record: notes, results, problems, allergies and documents' text, ranked, typos tolerated."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from bson import ObjectId

from engage.lib.records_search import SearchDoc
from engage.lib.records_search import edit_distance_within
from engage.lib.records_search import query_terms
from engage.lib.records_search import rank
from engage.models.audit import AuditEvent
from tests.document_samples import text_pdf
from tests.document_samples import upload
from tests.vitals_helpers import relate

NOW = datetime(2026, 12, 1, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("db")  # every test here checks what was stored.


def test_filler_words_drop_out_of_a_query():
    assert query_terms("Show me my last HbA1c results") == ["hba1c"]
    assert query_terms("knee x-ray") == ["knee", "xray"]


@pytest.mark.parametrize(("a", "b", "limit", "within"), [("hba1c", "hba1c", 0, True), ("hbac1", "hba1c", 1, False), ("hbac1", "hba1c", 2, True),
                                                         ("cholesterol", "cholestrol", 1, True), ("knee", "kneel", 1, True), ("knee", "ankle", 1, False)])
def test_edit_distance(a, b, limit, within):
    assert edit_distance_within(a, b, limit) is within


def test_the_newest_of_equal_matches_comes_first_and_typos_still_match():
    docs = [
        SearchDoc("lab_result", "old", NOW - timedelta(days=200), "HbA1c 8.1 %", "HbA1c 8.1 % high"),
        SearchDoc("lab_result", "new", NOW - timedelta(days=10), "HbA1c 7.2 %", "HbA1c 7.2 % high"),
        SearchDoc("lab_result", "other", NOW, "Potassium 4.1 mmol/L", "Potassium 4.1 mmol/L normal"),
        SearchDoc("document", "xray", NOW - timedelta(days=30), "knee_radiograph.pdf", "Radiograph of the left knee: no fracture."),
        SearchDoc("encounter", "note", NOW - timedelta(days=40), "Visit note", "Subjective: knee pain after a fall"),
    ]
    assert [d.id for d, _ in rank(docs, query_terms("last HbA1c"), 5)] == ["new", "old"]
    assert [d.id for d, _ in rank(docs, query_terms("last hba1v"), 5)][:2] == ["new", "old"]  # one typo
    knee = [d.id for d, _ in rank(docs, query_terms("knee x-ray"), 5)]
    assert knee[0] == "xray" and "note" in knee  # the x-ray matches both words (xray ~ radiograph), the note one
    assert next(d.id for d, _ in rank(docs, query_terms("kne xray"), 5)) == "xray"  # a typo in the body part
    assert rank(docs, query_terms("appendix"), 5) == []


async def test_search_ranks_the_patients_entries_and_is_audited(api, make_patient, make_doctor):
    patient, doctor = await make_patient(), await make_doctor()
    await relate(doctor.id, patient.id)
    base = f"/api/patients/{patient.id}"
    for days, value in ((100, 8.1), (5, 7.2)):
        body = {"test_name": "HbA1c", "value": value, "unit": "%", "ref_high": 5.6, "taken_at": (datetime.now(UTC) - timedelta(days=days)).isoformat()}
        assert (await api.post(base + "/lab-results", body, token=doctor.access_token)).status == 201
    assert (await api.post(base + "/problems", {"condition": "Osteoarthritis of the knee", "icd10": "M17.9"}, token=doctor.access_token)).status == 201
    note = (await api.post(base + "/encounters", {"subjective": "Knee swollen since Tuesday", "plan": "Knee x-ray"}, token=doctor.access_token)).body["encounter"]
    assert (await api.post(f"{base}/encounters/{note['id']}/sign", token=doctor.access_token)).status == 200
    draft = (await api.post(base + "/encounters", {"subjective": "Draft knee thoughts"}, token=doctor.access_token)).body["encounter"]
    resp = await upload(api, patient.access_token, patient.id, text_pdf(["Radiology report", "Radiograph of the right knee: mild joint space narrowing."]), filename="knee.pdf")
    assert resp.status == 201
    # The document's text arrives with the processing job; until then its name is searchable.
    found = await api.get(base + "/record/search", params={"q": "last HbA1c"}, token=patient.access_token)
    assert found.status == 200, found.body
    hits = found.body["hits"]
    assert [h["title"] for h in hits[:2]] == ["HbA1c 7.2 %", "HbA1c 8.1 %"]
    knee = await api.get(base + "/record/search", params={"q": "knee xray"}, token=patient.access_token)
    kinds = [h["kind"] for h in knee.body["hits"]]
    assert {"encounter", "problem", "document"} <= set(kinds)
    assert draft["id"] not in [h["id"] for h in knee.body["hits"]]  # a draft is never the patient's to find
    mine = await api.get(base + "/record/search", params={"q": "knee"}, token=doctor.access_token)
    assert draft["id"] in [h["id"] for h in mine.body["hits"]]  # the author finds their own draft
    typo = await api.get(base + "/record/search", params={"q": "osteoarthritus"}, token=doctor.access_token)
    assert typo.body["hits"][0]["kind"] == "problem"
    empty = await api.get(base + "/record/search", params={"q": ""}, token=doctor.access_token)
    assert empty.status == 422 and empty.body["error"]["field"] == "q"
    audited = await AuditEvent.find({"subject_id": ObjectId(patient.id), "action": "record.search"}).to_list()
    assert [str(a.actor_id) for a in audited] == [doctor.id, doctor.id]
