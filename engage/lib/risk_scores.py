"""Published, validated risk scores, computed from named inputs: pure functions, no I/O.

Each score says which inputs it used (with their source and date), which it lacked, the range
its equation was validated on, and where it comes from. Outside the valid range, or with an
input missing, there is no value but a reason: a number the equation was not built for would
look trustworthy and is not.

- 10-year ASCVD risk: ACC/AHA Pooled Cohort Equations (Goff et al., 2013).
- FINDRISC, 10-year risk of type 2 diabetes (Lindström & Tuomilehto, 2003).
- CHA2DS2-VASc, stroke risk in atrial fibrillation (Lip et al., 2010); only with AF on the problem list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from dataclasses import field
from typing import Any

ASCVD = "ascvd_pce"
FINDRISC = "findrisc"
CHA2DS2_VASC = "cha2ds2_vasc"

CITATIONS = {
    ASCVD: (
        "Goff DC Jr, et al. 2013 ACC/AHA Guideline on the Assessment of Cardiovascular Risk. Circulation. 2014;129(25 Suppl 2):S49-S73 "
        "(Pooled Cohort Equations, Table A); risk categories from the 2018 AHA/ACC Guideline on the Management of Blood Cholesterol."
    ),
    FINDRISC: (
        "Lindström J, Tuomilehto J. The Diabetes Risk Score: a practical tool to predict type 2 diabetes risk. "
        "Diabetes Care. 2003;26(3):725-731 (FINDRISC form, Finnish Diabetes Association)."
    ),
    CHA2DS2_VASC: (
        "Lip GYH, et al. Refining clinical risk stratification for predicting stroke and thromboembolism in atrial fibrillation. "
        "Chest. 2010;137(2):263-272; annual stroke rates from the 2010 ESC Guidelines for the management of atrial fibrillation."
    ),
}


@dataclass(frozen=True)
class RiskInput:
    """One input value and where it came from: answers, profile, vitals, lab_results, problems or prescriptions."""

    name: str
    value: Any
    source: str
    date: str | None = None  # ISO date or date-time of the reading, result or answer
    detail: str | None = None  # e.g. the problem or drug it was derived from


@dataclass
class RiskScore:
    score: str
    name: str
    value: float | int | None
    unit: str
    category: str | None
    reason: str | None  # why there is no value (missing inputs, out of range, not applicable)
    applicable: bool
    inputs: list[RiskInput]
    missing: list[str]
    valid_range: dict[str, Any]
    citation: str
    details: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- Pooled Cohort Equations

PCE_RANGE = {"age": (40, 79), "total_cholesterol": (130, 320), "hdl": (20, 100), "systolic_bp": (90, 200)}
PCE_UNITS = {"age": "years", "total_cholesterol": "mg/dL", "hdl": "mg/dL", "systolic_bp": "mmHg"}


@dataclass(frozen=True)
class PceCoefficients:
    ln_age: float
    ln_age_sq: float
    ln_tc: float
    ln_age_ln_tc: float
    ln_hdl: float
    ln_age_ln_hdl: float
    ln_treated_sbp: float
    ln_age_ln_treated_sbp: float
    ln_untreated_sbp: float
    ln_age_ln_untreated_sbp: float
    smoker: float
    ln_age_smoker: float
    diabetes: float
    baseline_survival: float
    mean_sum: float


# Goff et al. 2013, Table A ("Equation Parameters of the Pooled Cohort Equations"), with the
# unrounded coefficients, baseline survivals and means of the guideline's companion spreadsheet, as
# the ACC/AHA ASCVD Risk Estimator uses them (Table A rounds them; its own example sums are rounded).
PCE: dict[tuple[str, str], PceCoefficients] = {
    ("female", "white"): PceCoefficients(-29.799, 4.884, 13.540, -3.114, -13.578, 3.149, 2.019, 0.0, 1.957, 0.0, 7.574, -1.665, 0.661, 0.96652, -29.1817),
    ("female", "african_american"): PceCoefficients(
        17.1141, 0.0, 0.9396, 0.0, -18.9196, 4.4748, 29.2907, -6.4321, 27.8197, -6.0873, 0.6908, 0.0, 0.8738, 0.95334, 86.6081
    ),
    ("male", "white"): PceCoefficients(12.344, 0.0, 11.853, -2.664, -7.990, 1.769, 1.797, 0.0, 1.764, 0.0, 7.837, -1.795, 0.658, 0.91436, 61.1816),
    ("male", "african_american"): PceCoefficients(2.469, 0.0, 0.302, 0.0, -0.307, 0.0, 1.916, 0.0, 1.809, 0.0, 0.549, 0.0, 0.645, 0.89536, 19.5425),
}


def pce_ten_year_risk(
    age: float, sex: str, race_group: str, total_cholesterol: float, hdl: float, systolic_bp: float, bp_treated: bool, smoker: bool, diabetes: bool
) -> float:
    """10-year risk of a first hard ASCVD event, 0..1. `race_group` other than african_american uses
    the white equations, as the guideline advises."""
    c = PCE[(sex, "african_american" if race_group == "african_american" else "white")]
    ln_age, ln_tc, ln_hdl, ln_sbp = math.log(age), math.log(total_cholesterol), math.log(hdl), math.log(systolic_bp)
    total = (
        c.ln_age * ln_age
        + c.ln_age_sq * ln_age**2
        + c.ln_tc * ln_tc
        + c.ln_age_ln_tc * ln_age * ln_tc
        + c.ln_hdl * ln_hdl
        + c.ln_age_ln_hdl * ln_age * ln_hdl
        + (c.ln_treated_sbp * ln_sbp + c.ln_age_ln_treated_sbp * ln_age * ln_sbp if bp_treated else 0.0)
        + (0.0 if bp_treated else c.ln_untreated_sbp * ln_sbp + c.ln_age_ln_untreated_sbp * ln_age * ln_sbp)
        + (c.smoker + c.ln_age_smoker * ln_age if smoker else 0.0)
        + (c.diabetes if diabetes else 0.0)
    )
    return 1.0 - c.baseline_survival ** math.exp(total - c.mean_sum)


def ascvd_category(percent: float) -> str:
    """2018 AHA/ACC categories of 10-year risk."""
    if percent < 5.0:
        return "low"
    if percent < 7.5:
        return "borderline"
    if percent < 20.0:
        return "intermediate"
    return "high"


def _missing(inputs: dict[str, RiskInput], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if name not in inputs or inputs[name].value is None]


def _used(inputs: dict[str, RiskInput], names: tuple[str, ...]) -> list[RiskInput]:
    return [inputs[name] for name in names if name in inputs and inputs[name].value is not None]


PCE_INPUTS = ("age", "sex", "race_group", "total_cholesterol", "hdl", "systolic_bp", "bp_treated", "smoker", "diabetes")


def ascvd_score(inputs: dict[str, RiskInput]) -> RiskScore:
    """The Pooled Cohort Equations' 10-year ASCVD risk in percent, or a reason there is none."""
    valid_range = {name: {"min": low, "max": high, "unit": PCE_UNITS[name]} for name, (low, high) in PCE_RANGE.items()}
    result = RiskScore(ASCVD, "10-year ASCVD risk (Pooled Cohort Equations)", None, "%", None, None, True,
                       _used(inputs, PCE_INPUTS), _missing(inputs, PCE_INPUTS), valid_range, CITATIONS[ASCVD])
    if result.missing:
        result.reason = "missing inputs: " + ", ".join(result.missing)
        return result
    if inputs.get("ascvd_history") is not None and inputs["ascvd_history"].value:
        result.applicable = False
        result.reason = "the equations are for people without known cardiovascular disease (secondary prevention applies)"
        return result
    outside = [
        f"{name} {inputs[name].value:g} {PCE_UNITS[name]} is outside {low}-{high}"
        for name, (low, high) in PCE_RANGE.items()
        if not low <= float(inputs[name].value) <= high
    ]
    if outside:
        result.reason = "outside the equations' valid range: " + "; ".join(outside)
        return result
    v = {name: inputs[name].value for name in PCE_INPUTS}
    risk = pce_ten_year_risk(v["age"], v["sex"], v["race_group"], v["total_cholesterol"], v["hdl"], v["systolic_bp"], v["bp_treated"], v["smoker"], v["diabetes"])
    result.value = round(risk * 100, 1)
    result.category = ascvd_category(result.value)
    if v["race_group"] not in ("white", "african_american"):
        result.details["note"] = "The white equations were used, as advised for other race groups; they may over- or underestimate risk."
    return result


# ---------------------------------------------------------------- FINDRISC

FINDRISC_INPUTS = ("age", "sex", "bmi", "waist_cm", "physically_active", "daily_fruit_veg", "bp_medication", "high_glucose_history", "family_diabetes")
FAMILY_DIABETES = ("none", "second_degree", "first_degree")  # grandparent/aunt/uncle/first cousin; parent/sibling/child


def findrisc_points(
    age: float, sex: str, bmi: float, waist_cm: float, physically_active: bool, daily_fruit_veg: bool,
    bp_medication: bool, high_glucose_history: bool, family_diabetes: str,
) -> dict[str, int]:
    """Points per item of the FINDRISC form (total 0-26)."""
    points = {"age": 0 if age < 45 else 2 if age < 55 else 3 if age < 65 else 4}
    points["bmi"] = 0 if bmi < 25 else 1 if bmi <= 30 else 3
    low, high = (94, 102) if sex == "male" else (80, 88)
    points["waist_cm"] = 0 if waist_cm < low else 3 if waist_cm <= high else 4
    points["physically_active"] = 0 if physically_active else 2
    points["daily_fruit_veg"] = 0 if daily_fruit_veg else 1
    points["bp_medication"] = 2 if bp_medication else 0
    points["high_glucose_history"] = 5 if high_glucose_history else 0
    points["family_diabetes"] = {"none": 0, "second_degree": 3, "first_degree": 5}[family_diabetes]
    return points


FINDRISC_CATEGORIES = (  # (upper bound inclusive, category, estimated 10-year risk)
    (6, "low", "about 1 in 100"),
    (11, "slightly_elevated", "about 1 in 25"),
    (14, "moderate", "about 1 in 6"),
    (20, "high", "about 1 in 3"),
    (26, "very_high", "about 1 in 2"),
)


def findrisc_category(total: int) -> tuple[str, str]:
    for upper, category, estimate in FINDRISC_CATEGORIES:
        if total <= upper:
            return category, estimate
    raise ValueError(f"FINDRISC total {total} above 26")


def findrisc_score(inputs: dict[str, RiskInput]) -> RiskScore:
    """FINDRISC points (0-26) and its risk band, or a reason there is none."""
    result = RiskScore(FINDRISC, "FINDRISC (10-year risk of type 2 diabetes)", None, "points", None, None, True,
                       _used(inputs, FINDRISC_INPUTS), _missing(inputs, FINDRISC_INPUTS),
                       {"age": {"min": 18, "unit": "years"}, "points": {"min": 0, "max": 26}}, CITATIONS[FINDRISC])
    if inputs.get("diabetes") is not None and inputs["diabetes"].value:
        result.applicable = False
        result.reason = "the patient already has diabetes; FINDRISC screens people without it"
        return result
    if result.missing:
        result.reason = "missing inputs: " + ", ".join(result.missing)
        return result
    v = {name: inputs[name].value for name in FINDRISC_INPUTS}
    if v["age"] < 18:
        result.reason = f"age {v['age']:g} is below 18: FINDRISC is for adults"
        return result
    points = findrisc_points(**v)
    result.value = sum(points.values())
    result.category, estimate = findrisc_category(result.value)
    result.details = {"points": points, "estimated_10_year_risk": estimate}
    return result


# ---------------------------------------------------------------- CHA2DS2-VASc

CHA2DS2_VASC_INPUTS = ("age", "sex", "heart_failure", "hypertension", "diabetes", "stroke_tia", "vascular_disease")
# Adjusted stroke rate (% per year) by score, 2010 ESC AF guideline (from Lip et al., 2010).
CHA2DS2_VASC_STROKE_RATE = {0: 0.0, 1: 1.3, 2: 2.2, 3: 3.2, 4: 4.0, 5: 6.7, 6: 9.8, 7: 9.6, 8: 6.7, 9: 15.2}


def cha2ds2_vasc_points(age: float, sex: str, heart_failure: bool, hypertension: bool, diabetes: bool, stroke_tia: bool, vascular_disease: bool) -> dict[str, int]:
    """Points per item (total 0-9)."""
    return {
        "heart_failure": int(heart_failure),
        "hypertension": int(hypertension),
        "age": 2 if age >= 75 else 1 if age >= 65 else 0,
        "diabetes": int(diabetes),
        "stroke_tia": 2 if stroke_tia else 0,
        "vascular_disease": int(vascular_disease),
        "sex": 1 if sex == "female" else 0,
    }


def cha2ds2_vasc_category(total: int, sex: str) -> str:
    """Low: 0 (men) or 1 (women, sex alone); moderate: one more point; high: more (anticoagulation recommended)."""
    beyond_sex = total - (1 if sex == "female" else 0)
    return "low" if beyond_sex <= 0 else "moderate" if beyond_sex == 1 else "high"


def cha2ds2_vasc_score(inputs: dict[str, RiskInput]) -> RiskScore:
    """CHA2DS2-VASc points (0-9) when atrial fibrillation is on the problem list."""
    result = RiskScore(CHA2DS2_VASC, "CHA2DS2-VASc (stroke risk in atrial fibrillation)", None, "points", None, None, True,
                       _used(inputs, CHA2DS2_VASC_INPUTS), _missing(inputs, CHA2DS2_VASC_INPUTS),
                       {"condition": "atrial fibrillation on the problem list", "points": {"min": 0, "max": 9}}, CITATIONS[CHA2DS2_VASC])
    af = inputs.get("atrial_fibrillation")
    if af is None or not af.value:
        result.applicable = False
        result.reason = "applies only with atrial fibrillation on the problem list"
        return result
    result.inputs.insert(0, af)
    if result.missing:
        result.reason = "missing inputs: " + ", ".join(result.missing)
        return result
    points = cha2ds2_vasc_points(**{name: inputs[name].value for name in CHA2DS2_VASC_INPUTS})
    result.value = sum(points.values())
    result.category = cha2ds2_vasc_category(result.value, inputs["sex"].value)
    result.details = {"points": points, "stroke_rate_percent_per_year": CHA2DS2_VASC_STROKE_RATE[result.value]}
    return result


def all_scores(inputs: dict[str, RiskInput]) -> list[RiskScore]:
    return [ascvd_score(inputs), findrisc_score(inputs), cha2ds2_vasc_score(inputs)]
