"""Gathers the risk scores' inputs from a patient's record, with each value's source and date.

Read on every request (a handful of bounded, indexed queries), so a score always reflects the
newest reading, result, problem or prescription: nothing is cached that could go stale. The
record wins over the questionnaire for clinical facts; the questionnaire fills what the record
lacks (birth date, sex, race group, smoking, height, waist, lifestyle, family history).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from beanie import PydanticObjectId

from engage.lib.risk_scores import RiskInput
from engage.models.base import utcnow
from engage.models.medication import Prescription
from engage.models.records import LabResult
from engage.models.records import Problem
from engage.models.risk import RiskAnswers
from engage.models.vitals import VitalReading

MG_DL_PER_MMOL_L_CHOLESTEROL = 38.67
SYSTOLIC_READINGS = 3  # the mean of the newest few readings: one reading alone is noisy
VITALS_WINDOW = timedelta(days=365)
LABS_WINDOW = timedelta(days=5 * 365)


@dataclass(frozen=True)
class ConditionMatch:
    """A condition on the problem list, by ICD-10 prefix or by words in its name."""

    icd10_prefixes: tuple[str, ...]
    words: tuple[str, ...]

    def matches(self, problem: Problem) -> bool:
        code = (problem.icd10 or "").upper()
        name = problem.condition.lower()
        # Whole words only: "tia" must not match "essential".
        return any(code.startswith(p) for p in self.icd10_prefixes) or any(re.search(rf"\b{re.escape(w)}\b", name) for w in self.words)


CONDITIONS: dict[str, ConditionMatch] = {
    "atrial_fibrillation": ConditionMatch(("I48",), ("atrial fibrillation", "atrial flutter")),
    "heart_failure": ConditionMatch(("I50", "I11.0", "I13.0", "I13.2"), ("heart failure", "cardiac failure", "lv dysfunction", "cardiomyopathy")),
    "hypertension": ConditionMatch(("I10", "I11", "I12", "I13", "I15"), ("hypertension", "high blood pressure")),
    "diabetes": ConditionMatch(("E10", "E11", "E13", "E14"), ("diabetes",)),
    "stroke_tia": ConditionMatch(("I63", "I64", "G45", "I74", "Z86.73"), ("stroke", "transient ischaemic", "transient ischemic", "tia", "thromboembolism")),
    "vascular_disease": ConditionMatch(
        ("I21", "I22", "I25.2", "I70", "I73.9"), ("myocardial infarction", "heart attack", "peripheral arterial", "peripheral artery", "aortic plaque")
    ),
    # Known ASCVD: the Pooled Cohort Equations are for primary prevention only.
    "ascvd_history": ConditionMatch(
        ("I20", "I21", "I22", "I25", "I63", "I64", "G45", "I70", "I73.9"),
        ("myocardial infarction", "heart attack", "angina", "coronary", "stroke", "transient ischaemic", "transient ischemic", "peripheral arterial", "peripheral artery"),
    ),
}

# Blood-pressure-lowering medicines by generic name (ACE inhibitors, ARBs, calcium-channel
# blockers, thiazide-type and loop diuretics, beta blockers, others).
ANTIHYPERTENSIVES = frozenset(
    "lisinopril enalapril ramipril perindopril captopril quinapril benazepril fosinopril trandolapril losartan valsartan candesartan irbesartan "
    "olmesartan telmisartan azilsartan amlodipine nifedipine felodipine lercanidipine diltiazem verapamil hydrochlorothiazide chlorthalidone "
    "indapamide bendroflumethiazide furosemide bumetanide torasemide spironolactone eplerenone metoprolol atenolol bisoprolol carvedilol "
    "nebivolol propranolol labetalol doxazosin prazosin clonidine methyldopa hydralazine minoxidil moxonidine aliskiren".split()
)

TOTAL_CHOLESTEROL_LOINC = "2093-3"
HDL_LOINC = "2085-9"
HBA1C_LOINC = "4548-4"
GLUCOSE_LOINC = "2345-7"

ANSWER_FIELDS = (
    "birth_date", "sex", "race_group", "smoker", "diabetes", "bp_treated", "height_cm", "waist_cm",
    "physically_active", "daily_fruit_veg", "bp_medication", "high_glucose_history", "family_diabetes",
)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def age_on(birth_date: str, today: date) -> int:
    born = date.fromisoformat(birth_date)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def is_antihypertensive(drug: str) -> bool:
    return any(word in ANTIHYPERTENSIVES for word in drug.lower().replace("/", " ").replace("-", " ").split())


def cholesterol_mg_dl(lab: LabResult) -> float:
    return round(lab.value * MG_DL_PER_MMOL_L_CHOLESTEROL, 1) if lab.unit.lower() == "mmol/l" else lab.value


async def _latest_lab(patient_id: PydanticObjectId, loinc: str, names: tuple[str, ...], since: datetime) -> LabResult | None:
    rows = await LabResult.find(
        {"patient_id": patient_id, "status": "final", "taken_at": {"$gte": since}, "$or": [{"loinc": loinc}, {"test_name": {"$in": list(names)}}]}
    ).sort("-taken_at").limit(1).to_list()
    return rows[0] if rows else None


async def gather_risk_inputs(patient_id: PydanticObjectId, now: datetime | None = None) -> dict[str, RiskInput]:
    """Every input the scores know, each with its source and date; absent when neither record nor answers have it."""
    now = now or utcnow()
    inputs: dict[str, RiskInput] = {}
    answers = await RiskAnswers.find_one({"patient_id": patient_id})

    def answer(name: str, value: Any | None = None, field_name: str | None = None) -> RiskInput | None:
        field_name = field_name or name
        given = getattr(answers, field_name, None) if answers else None
        if given is None:
            return None
        return RiskInput(name, given if value is None else value, "answers", _iso(answers.answered_at.get(field_name)) if answers else None)

    def put(item: RiskInput | None) -> None:
        if item is not None:
            inputs[item.name] = item

    if answers and answers.birth_date:
        put(answer("age", age_on(answers.birth_date, now.date()), "birth_date"))
    for name in ("sex", "race_group", "smoker", "waist_cm", "physically_active", "daily_fruit_veg", "high_glucose_history", "family_diabetes"):
        put(answer(name))

    problems = await Problem.find({"patient_id": patient_id, "status": "active"}).to_list()
    for name, match in CONDITIONS.items():
        found = next((p for p in problems if match.matches(p)), None)
        if found is not None:
            put(RiskInput(name, True, "problems", found.onset or _iso(found.recorded_at), found.condition))
        elif name != "diabetes":
            put(RiskInput(name, False, "problems", None, "not on the problem list"))

    hba1c = await _latest_lab(patient_id, HBA1C_LOINC, ("HbA1c",), now - LABS_WINDOW)
    if "diabetes" not in inputs:
        if hba1c is not None and hba1c.unit == "%" and hba1c.value >= 6.5:
            put(RiskInput("diabetes", True, "lab_results", _iso(hba1c.taken_at), f"HbA1c {hba1c.value:g}%"))
        else:
            put(answer("diabetes") or RiskInput("diabetes", False, "problems", None, "not on the problem list"))
    if "high_glucose_history" not in inputs and hba1c is not None and hba1c.unit == "%" and hba1c.value >= 5.7:
        put(RiskInput("high_glucose_history", True, "lab_results", _iso(hba1c.taken_at), f"HbA1c {hba1c.value:g}%"))

    prescriptions = await Prescription.find({"patient_id": patient_id, "active": True}).to_list()
    bp_drug = next((p for p in prescriptions if is_antihypertensive(p.drug)), None)
    if bp_drug is not None:
        put(RiskInput("bp_treated", True, "prescriptions", bp_drug.start_date, bp_drug.drug))
        put(RiskInput("bp_medication", True, "prescriptions", bp_drug.start_date, bp_drug.drug))
    else:
        put(answer("bp_treated") or RiskInput("bp_treated", False, "prescriptions", None, "no active blood-pressure medicine"))
        put(answer("bp_medication") or (RiskInput("bp_medication", inputs["bp_treated"].value, inputs["bp_treated"].source, inputs["bp_treated"].date)))

    since = now - VITALS_WINDOW
    pressures = await VitalReading.find(
        {"patient_id": patient_id, "type": "blood_pressure", "taken_at": {"$gte": since}}
    ).sort("-taken_at").limit(SYSTOLIC_READINGS).to_list()
    if pressures:
        systolic = round(sum(r.systolic or 0 for r in pressures) / len(pressures), 1)
        put(RiskInput("systolic_bp", systolic, "vitals", _iso(pressures[0].taken_at), f"mean of the newest {len(pressures)} reading(s)"))
    weights = await VitalReading.find({"patient_id": patient_id, "type": "weight", "taken_at": {"$gte": since}}).sort("-taken_at").limit(1).to_list()
    if weights and answers and answers.height_cm:
        bmi = round(weights[0].value / (answers.height_cm / 100) ** 2, 1)
        put(RiskInput("bmi", bmi, "vitals", _iso(weights[0].taken_at), f"weight {weights[0].value:g} kg, height {answers.height_cm:g} cm (answers)"))

    for name, loinc, names in (("total_cholesterol", TOTAL_CHOLESTEROL_LOINC, ("Total cholesterol",)), ("hdl", HDL_LOINC, ("HDL cholesterol",))):
        lab = await _latest_lab(patient_id, loinc, names, now - LABS_WINDOW)
        if lab is not None:
            put(RiskInput(name, cholesterol_mg_dl(lab), "lab_results", _iso(lab.taken_at), f"{lab.test_name} {lab.value:g} {lab.unit}"))
    return inputs
