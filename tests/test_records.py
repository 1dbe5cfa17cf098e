"""The clinical record: notes (draft, sign, amend), problems, allergies, lab results with flags,
critical results alerting the care team, entered-in-error, the timeline and its audit."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from bson import ObjectId

from engage.models.audit import AuditEvent
from engage.models.records import Encounter
from engage.models.records import Problem
from schemas.records import RecordOut
from schemas.vitals import AlertEvent
from tests.vitals_helpers import raw_db
from tests.vitals_helpers import relate


pytestmark = pytest.mark.usefixtures("db")  # every test here checks what was stored.


async def care_pair(make_patient, make_doctor):
    patient, doctor = await make_patient(), await make_doctor()
    await relate(doctor.id, patient.id)
    return patient, doctor


def iso(at: datetime) -> str:
    return at.isoformat()


async def write_note(api, patient, doctor, **soap) -> dict:
    resp = await api.post(f"/api/patients/{patient.id}/encounters", soap or {"subjective": "Cough for a week", "plan": "Fluids"}, token=doctor.access_token)
    assert resp.status == 201, resp.body
    return resp.body["encounter"]


async def test_a_draft_is_edited_then_signed_and_then_immutable(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    note = await write_note(api, patient, doctor)
    assert note["status"] == "draft" and note["version"] == 0 and note["author_name"] == doctor.name
    base = f"/api/patients/{patient.id}/encounters/{note['id']}"
    resp = await api.patch(base, {"assessment": "Viral bronchitis"}, token=doctor.access_token)
    assert resp.status == 200 and resp.body["encounter"]["soap"]["assessment"] == "Viral bronchitis"
    assert resp.body["encounter"]["soap"]["subjective"] == "Cough for a week"
    signed = await api.post(base + "/sign", token=doctor.access_token)
    assert signed.status == 200, signed.body
    assert signed.body["encounter"]["status"] == "signed" and signed.body["encounter"]["version"] == 1
    assert signed.body["encounter"]["signed_by"] == doctor.id
    edit = await api.patch(base, {"plan": "Antibiotics"}, token=doctor.access_token)
    assert edit.status == 409 and edit.error_code == "note_signed"
    again = await api.post(base + "/sign", token=doctor.access_token)
    assert again.status == 409 and again.error_code == "note_signed"
    stored = await Encounter.get(ObjectId(note["id"]))
    assert stored.soap.plan == "Fluids"


async def test_an_amendment_is_a_new_version_and_keeps_the_signed_one(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    colleague = await make_doctor()
    await relate(colleague.id, patient.id)
    note = await write_note(api, patient, doctor, subjective="Knee pain", plan="Ibuprofen")
    base = f"/api/patients/{patient.id}/encounters/{note['id']}"
    assert (await api.post(base + "/sign", token=doctor.access_token)).status == 200
    no_reason = await api.post(base + "/amend", {"plan": "Paracetamol"}, token=colleague.access_token)
    assert no_reason.status == 422 and no_reason.body["error"]["field"] == "reason"
    amended = await api.post(base + "/amend", {"subjective": "Knee pain", "plan": "Paracetamol", "reason": "Ibuprofen contraindicated"}, token=colleague.access_token)
    assert amended.status == 200, amended.body
    body = amended.body["encounter"]
    assert body["version"] == 2 and body["soap"]["plan"] == "Paracetamol" and body["amendment_reason"] == "Ibuprofen contraindicated"
    assert body["signed_by"] == colleague.id
    assert [(v["version"], v["soap"]["plan"], v["signed_by"]) for v in body["history"]] == [(1, "Ibuprofen", doctor.id)]
    # The patient reads the note and all of its versions (open notes).
    seen = await api.get(base, token=patient.access_token)
    assert seen.status == 200 and seen.body["encounter"]["version"] == 2 and len(seen.body["encounter"]["history"]) == 1


async def test_a_draft_is_its_authors_alone(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    colleague = await make_doctor()
    await relate(colleague.id, patient.id)
    note = await write_note(api, patient, doctor)
    base = f"/api/patients/{patient.id}/encounters/{note['id']}"
    for token in (patient.access_token, colleague.access_token):
        assert (await api.get(base, token=token)).status == 404
    assert (await api.patch(base, {"plan": "x"}, token=colleague.access_token)).status == 404
    assert (await api.post(base + "/sign", token=colleague.access_token)).status == 404
    mine = await api.get("/api/me/record", token=patient.access_token)
    assert all(item["id"] != note["id"] for item in mine.body["items"])
    theirs = await api.get(f"/api/patients/{patient.id}/record", params={"kinds": "encounter"}, token=colleague.access_token)
    assert all(item["id"] != note["id"] for item in theirs.body["items"])
    own = await api.get(f"/api/patients/{patient.id}/record", params={"kinds": "encounter"}, token=doctor.access_token)
    assert [item["id"] for item in own.body["items"]] == [note["id"]]


async def test_a_note_for_an_appointment_dates_from_it_and_only_the_patients(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    other = await make_patient()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    ids = []  # raw appointment documents, like tests/vitals_helpers.relate
    for who in (patient, other):
        row = {"patient_id": ObjectId(who.id), "doctor_id": ObjectId(doctor.id), "clinic_id": ObjectId(), "start": start,
               "end": start + timedelta(minutes=30), "status": "completed", "token": f"rec-{ObjectId()}"}
        ids.append(str((await raw_db()["appointments"].insert_one(row)).inserted_id))
    resp = await api.post(f"/api/patients/{patient.id}/encounters", {"appointment_id": ids[0], "subjective": "Follow-up"}, token=doctor.access_token)
    assert resp.status == 201, resp.body
    assert resp.body["encounter"]["appointment_id"] == ids[0]
    assert datetime.fromisoformat(resp.body["encounter"]["occurred_at"]) == start
    wrong = await api.post(f"/api/patients/{patient.id}/encounters", {"appointment_id": ids[1]}, token=doctor.access_token)
    assert wrong.status == 422 and wrong.body["error"]["field"] == "appointment_id"


@pytest.mark.parametrize(
    ("value", "flag"),
    [(4.5, "normal"), (3.2, "low"), (6.4, "high"), (2.5, "critical_low"), (6.2, "critical_high")],
)
async def test_potassium_flags_come_from_the_range_and_known_critical_limits(api, make_patient, make_doctor, value, flag):
    patient, doctor = await care_pair(make_patient, make_doctor)
    body = {"test_name": "Potassium", "value": value, "unit": "mmol/L", "ref_low": 3.5, "ref_high": 5.1}
    if flag == "high":
        body["critical_high"] = 7.0  # given with the result: overrides the known 6.2
    resp = await api.post(f"/api/patients/{patient.id}/lab-results", body, token=doctor.access_token)
    assert resp.status == 201, resp.body
    result = resp.body["lab_result"]
    assert result["flag"] == flag and result["loinc"] == "2823-3" and result["flag_text"]
    assert (result["alert_id"] is not None) == flag.startswith("critical")


async def test_a_critical_result_alerts_the_care_team_through_the_alert_path(api, make_patient, make_doctor, connect):
    patient, doctor = await care_pair(make_patient, make_doctor)
    sock = await connect(doctor.access_token)
    body = {"test_name": "Glucose", "value": 38, "unit": "mg/dL", "ref_low": 70, "ref_high": 99}
    resp = await api.post(f"/api/patients/{patient.id}/lab-results", body, token=doctor.access_token)
    assert resp.status == 201 and resp.body["lab_result"]["flag"] == "critical_low"
    event = AlertEvent.model_validate(await sock.wait_for("vitals:alert", lambda a: a["alert"]["patient_id"] == patient.id))
    assert event.alert.severity == "critical" and event.alert.rule == "lab_critical" and "Glucose 38 mg/dL" in event.alert.message
    assert event.alert.id == resp.body["lab_result"]["alert_id"]
    alerts = await api.get(f"/api/patients/{patient.id}/alerts", token=doctor.access_token)
    assert any(a["id"] == event.alert.id for a in alerts.body["alerts"])
    # A value entered in error ends its alarm.
    result_id = resp.body["lab_result"]["id"]
    marked = await api.post(f"/api/patients/{patient.id}/record/lab-results/{result_id}/entered-in-error", {"reason": "Haemolysed sample"}, token=doctor.access_token)
    assert marked.status == 200
    cleared = await sock.wait_for("vitals:cleared", lambda a: a["alert"]["id"] == event.alert.id)
    assert cleared["alert"]["status"] == "cleared"


async def test_bad_lab_results_are_422(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    path = f"/api/patients/{patient.id}/lab-results"
    for body, field in [
        ({"test_name": "HbA1c", "unit": "%"}, "value"),
        ({"test_name": "HbA1c", "value": "NaN", "unit": "%"}, "value"),
        ({"test_name": "HbA1c", "value": 7, "unit": "%", "ref_low": 6, "ref_high": 4}, None),
        ({"test_name": "HbA1c", "value": 7, "unit": "%", "loinc": "not-a-code"}, "loinc"),
        ({"test_name": "", "value": 7, "unit": "%"}, "test_name"),
    ]:
        resp = await api.post(path, body, token=doctor.access_token)
        assert resp.status == 422, (body, resp.body)
        if field:
            assert resp.body["error"]["field"] == field, resp.body


async def test_problems_and_allergies_are_written_resolved_and_never_deleted(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    base = f"/api/patients/{patient.id}"
    problem = (await api.post(base + "/problems", {"condition": "Type 2 diabetes", "icd10": "E11.9", "onset": "2019-04-01"}, token=doctor.access_token)).body["problem"]
    assert problem["status"] == "active" and problem["recorded_by"] == doctor.id and problem["onset"] == "2019-04-01"
    bad_code = await api.post(base + "/problems", {"condition": "X", "icd10": "12345"}, token=doctor.access_token)
    assert bad_code.status == 422 and bad_code.body["error"]["field"] == "icd10"
    resolved = await api.patch(f"{base}/problems/{problem['id']}", {"status": "resolved"}, token=doctor.access_token)
    assert resolved.status == 200 and resolved.body["problem"]["status"] == "resolved" and resolved.body["problem"]["updated_by"] == doctor.id
    allergy = (await api.post(base + "/allergies", {"substance": "Penicillin", "reaction": "Hives", "severity": "severe"}, token=doctor.access_token)).body["allergy"]
    record = (await api.get(base + "/record", token=doctor.access_token)).body
    assert [a["substance"] for a in record["active_allergies"]] == ["Penicillin"] and record["active_problems"] == []
    gone = await api.post(f"{base}/record/allergies/{allergy['id']}/entered-in-error", {"reason": "Recorded for the wrong patient"}, token=doctor.access_token)
    assert gone.status == 200 and gone.body["status"] == "entered_in_error"
    twice = await api.post(f"{base}/record/allergies/{allergy['id']}/entered-in-error", {"reason": "Again"}, token=doctor.access_token)
    assert twice.status == 409
    changed = await api.patch(f"{base}/allergies/{allergy['id']}", {"severity": "mild"}, token=doctor.access_token)
    assert changed.status == 409 and changed.error_code == "entered_in_error"
    unknown_kind = await api.post(f"{base}/record/vitals/{allergy['id']}/entered-in-error", {"reason": "Nope"}, token=doctor.access_token)
    assert unknown_kind.status == 404
    record = (await api.get(base + "/record", token=doctor.access_token)).body
    assert record["active_allergies"] == [] and all(i["id"] != allergy["id"] for i in record["items"])
    with_errors = (await api.get(base + "/record", params={"include_entered_in_error": "true"}, token=doctor.access_token)).body
    kept = next(i for i in with_errors["items"] if i["id"] == allergy["id"])
    assert kept["status"] == "entered_in_error" and kept["data"]["error"]["reason"] == "Recorded for the wrong patient"
    assert await Problem.find({"patient_id": ObjectId(patient.id)}).count() == 1


async def test_the_timeline_is_newest_first_and_paged_without_gaps(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    base = f"/api/patients/{patient.id}"
    now = datetime.now(UTC).replace(microsecond=0)
    for hours in range(7):
        body = {"test_name": "HbA1c", "value": 6 + hours / 10, "unit": "%", "ref_high": 5.6, "taken_at": iso(now - timedelta(hours=2 * hours))}
        assert (await api.post(base + "/lab-results", body, token=doctor.access_token)).status == 201
    for hours in (1, 3, 5):
        note = await write_note(api, patient, doctor, subjective=f"Visit {hours}", occurred_at=iso(now - timedelta(hours=hours)))
        assert (await api.post(f"{base}/encounters/{note['id']}/sign", token=doctor.access_token)).status == 200
    # Three results confirmed from one document share their time: the cursor must neither skip nor repeat them.
    same = iso(now - timedelta(hours=4))
    for value in (90, 91, 92):
        body = {"test_name": "Glucose", "value": value, "unit": "mg/dL", "taken_at": same}
        assert (await api.post(base + "/lab-results", body, token=doctor.access_token)).status == 201
    seen, before = [], None
    while True:
        params = {"limit": "3", **(before or {})}
        page = RecordOut.model_validate((await api.get("/api/me/record", params=params, token=patient.access_token)).body)
        assert len(page.items) <= 3
        seen += page.items
        if page.next_before is None:
            break
        before = {"before": page.next_before.isoformat(), "before_id": page.next_before_id}
    kinds = [i.kind for i in seen]
    assert kinds.count("lab_result") == 10 and kinds.count("encounter") == 3
    times = [i.at for i in seen]
    assert times == sorted(times, reverse=True) and len({i.id for i in seen}) == len(seen)
    assert seen[0].kind == "lab_result" and seen[1].kind == "encounter" and seen[1].data["soap"]["subjective"] == "Visit 1"
    assert seen[0].data["flag"] == "high"


async def test_reads_by_the_care_team_are_audited_and_the_patients_own_are_not(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    before = await AuditEvent.find({"subject_id": ObjectId(patient.id), "action": "record.read"}).count()
    assert (await api.get(f"/api/patients/{patient.id}/record", token=doctor.access_token)).status == 200
    assert (await api.get("/api/me/record", token=patient.access_token)).status == 200
    assert (await api.get(f"/api/patients/{patient.id}/record", token=patient.access_token)).status == 200
    events = await AuditEvent.find({"subject_id": ObjectId(patient.id), "action": "record.read"}).to_list()
    assert len(events) == before + 1 and str(events[-1].actor_id) == doctor.id


async def test_outsiders_get_the_same_404_for_real_and_made_up_patients(api, make_patient, make_doctor):
    patient, _ = await care_pair(make_patient, make_doctor)
    outsider = await make_doctor()
    real = await api.get(f"/api/patients/{patient.id}/record", token=outsider.access_token)
    made_up = await api.get(f"/api/patients/{ObjectId()}/record", token=outsider.access_token)
    assert real.status == made_up.status == 404 and real.body == made_up.body
    write = await api.post(f"/api/patients/{patient.id}/problems", {"condition": "Asthma"}, token=outsider.access_token)
    assert write.status == 404


async def test_the_record_summarises_the_newest_vital_of_each_type(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    for vital_type, value, days in (("heart_rate", 88, 40), ("heart_rate", 64, 3), ("weight", 80, 100)):
        body = {"type": vital_type, "value": value, "taken_at": iso(datetime.now(UTC) - timedelta(days=days))}
        assert (await api.post("/api/vitals", body, token=patient.access_token)).status == 201
    record = (await api.get(f"/api/patients/{patient.id}/record", token=doctor.access_token)).body
    assert [(v["type"], v["value"]) for v in record["vitals"]] == [("heart_rate", 64)]  # weight is older than 90 days
