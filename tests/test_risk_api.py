"""Risk scores over HTTP: inputs from the record and the questionnaire, each with its source and
date; recomputed when an input changes; read by the patient and their care team only (audited)."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
from bson import ObjectId

from engage.models.audit import AuditEvent
from schemas.risk import RiskAnswersEnvelope
from schemas.risk import RiskOut
from tests.vitals_helpers import bp
from tests.vitals_helpers import relate


pytestmark = pytest.mark.usefixtures("db")  # audit entries are read from the database.


def birth_date(age: int) -> str:
    today = datetime.now(UTC).date()
    return str(date(today.year - age, 1, 1) if (today.month, today.day) >= (1, 1) else date(today.year - age - 1, 1, 1))


async def care_pair(make_patient, make_doctor):
    patient, doctor = await make_patient(), await make_doctor()
    await relate(doctor.id, patient.id)
    return patient, doctor


def score(body: dict, name: str) -> dict:
    RiskOut.model_validate(body)
    return next(s for s in body["scores"] if s["score"] == name)


async def lab(api, patient, doctor, name: str, value: float, unit: str = "mg/dL", days_ago: int = 1) -> None:
    taken = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    resp = await api.post(f"/api/patients/{patient.id}/lab-results", {"test_name": name, "value": value, "unit": unit, "taken_at": taken}, token=doctor.access_token)
    assert resp.status == 201, resp.body


async def guideline_patient(api, patient, doctor) -> None:
    """The 2013 guideline's example, as a record: 55, white woman, TC 213, HDL 50, SBP 120, untreated, non-smoker."""
    answers = {"birth_date": birth_date(55), "sex": "female", "race_group": "white", "smoker": False}
    resp = await api.put("/api/me/risk-answers", answers, token=patient.access_token)
    assert resp.status == 200, resp.body
    RiskAnswersEnvelope.model_validate(resp.body)
    await lab(api, patient, doctor, "Total cholesterol", 213)
    await lab(api, patient, doctor, "HDL cholesterol", 50)
    assert (await api.post("/api/vitals", bp(120, 78), token=patient.access_token)).status == 201


async def test_ascvd_from_the_record_and_answers_with_sources_and_dates(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    await guideline_patient(api, patient, doctor)
    resp = await api.get(f"/api/patients/{patient.id}/risk", token=doctor.access_token)
    assert resp.status == 200, resp.body
    ascvd = score(resp.body, "ascvd_pce")
    assert (ascvd["value"], ascvd["category"], ascvd["missing"]) == (2.1, "low", [])
    sources = {i["name"]: i["source"] for i in ascvd["inputs"]}
    assert sources == {"age": "answers", "sex": "answers", "race_group": "answers", "total_cholesterol": "lab_results", "hdl": "lab_results",
                       "systolic_bp": "vitals", "bp_treated": "prescriptions", "smoker": "answers", "diabetes": "problems"}
    assert all(i["date"] for i in ascvd["inputs"] if i["source"] in ("answers", "lab_results", "vitals"))
    assert "Goff" in ascvd["citation"] and ascvd["valid_range"]["hdl"] == {"min": 20, "max": 100, "unit": "mg/dL"}
    assert "heart attack or stroke" in ascvd["explanation"]


async def test_a_new_result_changes_the_score_and_mmol_is_converted(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    await guideline_patient(api, patient, doctor)
    await lab(api, patient, doctor, "HDL cholesterol", 0.8, unit="mmol/L", days_ago=0)  # 30.9 mg/dL: newer, lower HDL
    body = (await api.get(f"/api/patients/{patient.id}/risk", token=patient.access_token)).body
    ascvd = score(body, "ascvd_pce")
    hdl = next(i for i in ascvd["inputs"] if i["name"] == "hdl")
    assert hdl["value"] == pytest.approx(30.9, abs=0.1) and "mmol/L" in hdl["detail"]
    assert ascvd["value"] > 2.1


async def test_a_blood_pressure_prescription_counts_as_treated(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    await guideline_patient(api, patient, doctor)
    today = datetime.now(UTC).date()
    body = {"drug": "Amlodipine", "dose": "5 mg", "times": ["08:00"], "start_date": str(today), "end_date": str(today + timedelta(days=30))}
    assert (await api.post(f"/api/patients/{patient.id}/prescriptions", body, token=doctor.access_token)).status == 201
    ascvd = score((await api.get(f"/api/patients/{patient.id}/risk", token=patient.access_token)).body, "ascvd_pce")
    treated = next(i for i in ascvd["inputs"] if i["name"] == "bp_treated")
    assert (treated["value"], treated["source"], treated["detail"]) == (True, "prescriptions", "Amlodipine")
    assert ascvd["value"] > 2.1


async def test_out_of_range_gives_no_score_but_a_reason(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    await guideline_patient(api, patient, doctor)
    assert (await api.put("/api/me/risk-answers", {"birth_date": birth_date(35)}, token=patient.access_token)).status == 200
    ascvd = score((await api.get(f"/api/patients/{patient.id}/risk", token=patient.access_token)).body, "ascvd_pce")
    assert ascvd["value"] is None and "age 35" in ascvd["reason"]


async def test_missing_inputs_are_listed_with_the_questions_that_fill_them(api, make_patient):
    patient = await make_patient()
    body = (await api.get(f"/api/patients/{patient.id}/risk", token=patient.access_token)).body
    ascvd = score(body, "ascvd_pce")
    assert ascvd["value"] is None and {"age", "sex", "total_cholesterol", "hdl", "systolic_bp"} <= set(ascvd["missing"])
    assert {"birth_date", "sex", "race_group", "smoker", "waist_cm", "height_cm"} <= set(body["questions"])
    assert score(body, "cha2ds2_vasc")["applicable"] is False


async def test_findrisc_from_weight_height_and_answers(api, make_patient):
    patient = await make_patient()
    answers = {"birth_date": birth_date(50), "sex": "male", "height_cm": 180, "waist_cm": 100, "physically_active": False, "daily_fruit_veg": True,
               "high_glucose_history": False, "family_diabetes": "first_degree", "bp_medication": False}
    assert (await api.put("/api/me/risk-answers", answers, token=patient.access_token)).status == 200
    assert (await api.post("/api/vitals", {"type": "weight", "value": 87.5, "taken_at": datetime.now(UTC).isoformat()}, token=patient.access_token)).status == 201
    findrisc = score((await api.get(f"/api/patients/{patient.id}/risk", token=patient.access_token)).body, "findrisc")
    assert (findrisc["value"], findrisc["category"]) == (13, "moderate")  # BMI 27.0: 2+1+3+2+0+0+0+5
    assert next(i for i in findrisc["inputs"] if i["name"] == "bmi")["source"] == "vitals"


async def test_cha2ds2_vasc_appears_with_atrial_fibrillation_on_the_problem_list(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    assert (await api.put("/api/me/risk-answers", {"birth_date": birth_date(76), "sex": "female"}, token=patient.access_token)).status == 200
    base = f"/api/patients/{patient.id}/problems"
    assert (await api.post(base, {"condition": "Atrial fibrillation", "icd10": "I48.91"}, token=doctor.access_token)).status == 201
    assert (await api.post(base, {"condition": "Essential hypertension", "icd10": "I10"}, token=doctor.access_token)).status == 201
    cha = score((await api.get(f"/api/patients/{patient.id}/risk", token=doctor.access_token)).body, "cha2ds2_vasc")
    assert (cha["value"], cha["category"]) == (4, "high")  # age >= 75: 2, female: 1, hypertension: 1
    assert {i["name"]: i["source"] for i in cha["inputs"]}["hypertension"] == "problems"


async def test_only_the_patient_and_care_team_read_and_the_doctor_is_audited(api, make_patient, make_doctor):
    patient, doctor = await care_pair(make_patient, make_doctor)
    stranger, other = await make_doctor(), await make_patient()
    assert (await api.get(f"/api/patients/{patient.id}/risk", token=stranger.access_token)).status == 404
    assert (await api.get(f"/api/patients/{patient.id}/risk", token=other.access_token)).status == 404
    assert (await api.get(f"/api/patients/{patient.id}/risk", token=doctor.access_token)).status == 200
    assert (await api.get(f"/api/patients/{patient.id}/risk", token=patient.access_token)).status == 200
    audits = await AuditEvent.find({"subject_id": ObjectId(patient.id), "action": "risk.read"}).to_list()
    assert [str(a.actor_id) for a in audits] == [doctor.id]


@pytest.mark.parametrize(
    "body",
    [{"sex": "other"}, {"height_cm": 5}, {"waist_cm": "wide"}, {"family_diabetes": "cousin"}, {"birth_date": "1890-01-01"}, {"unknown": 1}, {"smoker": "maybe"}],
)
async def test_bad_answers_are_refused_with_the_field(api, make_patient, body):
    patient = await make_patient()
    resp = await api.put("/api/me/risk-answers", body, token=patient.access_token)
    assert resp.status == 422, resp.body
    assert resp.body["error"]["code"] and resp.body["error"].get("field")
