"""The risk scores against worked examples published with them or by established calculators.

Pure functions: no servers. Sources:
- ASCVD: the 2013 ACC/AHA guideline's own example (Goff et al., Table A: 55 years, TC 213, HDL 50,
  SBP 120 untreated, non-smoker, non-diabetic) and the ACC/AHA ASCVD Risk Estimator's published
  test cases (cerner/ascvd-risk-calculator, the ACC's SMART app: a 46-year-old smoker with diabetes
  on blood-pressure treatment, and the lowest possible risk of a 70-year-old man).
- FINDRISC: the form's point table (Lindström & Tuomilehto 2003), at its boundaries, its minimum and maximum.
- CHA2DS2-VASc: the points and annual stroke rates of Lip et al. 2010 and the 2010 ESC AF guideline.
"""

from __future__ import annotations

import math

import pytest

from engage.lib.risk_scores import PCE
from engage.lib.risk_scores import RiskInput
from engage.lib.risk_scores import ascvd_category
from engage.lib.risk_scores import ascvd_score
from engage.lib.risk_scores import cha2ds2_vasc_score
from engage.lib.risk_scores import findrisc_category
from engage.lib.risk_scores import findrisc_score
from engage.lib.risk_scores import pce_ten_year_risk


def given(**values) -> dict[str, RiskInput]:
    return {name: RiskInput(name, value, "answers", "2026-01-01") for name, value in values.items()}


GUIDELINE_EXAMPLE = dict(age=55, total_cholesterol=213, hdl=50, systolic_bp=120, bp_treated=False, smoker=False, diabetes=False)


@pytest.mark.parametrize(
    ("sex", "race", "percent", "category"),
    [("female", "white", 2.1, "low"), ("female", "african_american", 3.0, "low"), ("male", "african_american", 6.1, "borderline")],
)
def test_ascvd_matches_the_guideline_example(sex, race, percent, category):
    score = ascvd_score(given(sex=sex, race_group=race, **GUIDELINE_EXAMPLE))
    assert (score.value, score.category) == (percent, category)
    assert score.unit == "%" and not score.missing


def test_ascvd_white_man_of_the_guideline_example():
    """Table A prints 5.3% from its sum rounded to 60.69; the unrounded sum (60.6995) gives 5.38%,
    which the ACC/AHA Risk Estimator shows as 5.4%."""
    c = PCE[("male", "white")]
    ln_age, ln_tc, ln_hdl, ln_sbp = map(math.log, (55, 213, 50, 120))
    individual_sum = c.ln_age * ln_age + c.ln_tc * ln_tc + c.ln_age_ln_tc * ln_age * ln_tc + c.ln_hdl * ln_hdl + c.ln_age_ln_hdl * ln_age * ln_hdl + c.ln_untreated_sbp * ln_sbp
    assert math.floor(individual_sum * 100) / 100 == 60.69
    assert round((1 - 0.9144 ** math.exp(60.69 - 61.18)) * 100, 1) == 5.3
    score = ascvd_score(given(sex="male", race_group="white", **GUIDELINE_EXAMPLE))
    assert score.value == 5.4 and score.category == "borderline"


@pytest.mark.parametrize(
    ("sex", "race", "tc", "hdl", "percent", "category"),
    [
        ("male", "white", 150, 40, 12.2, "intermediate"),
        ("male", "other", 150, 40, 12.2, "intermediate"),  # other race groups use the white equations
        ("male", "african_american", 150, 40, 24.9, "high"),
        ("female", "white", 141, 34, 10.3, "intermediate"),
        ("female", "african_american", 141, 34, 26.8, "high"),
    ],
)
def test_ascvd_matches_the_risk_estimator_for_a_treated_diabetic_smoker(sex, race, tc, hdl, percent, category):
    score = ascvd_score(given(age=46, sex=sex, race_group=race, total_cholesterol=tc, hdl=hdl, systolic_bp=140, bp_treated=True, smoker=True, diabetes=True))
    assert (score.value, score.category) == (percent, category)


def test_ascvd_lowest_possible_risk_at_70():
    """The Risk Estimator's 'lowest ten-year risk' of a 70-year-old white man: 5.9%."""
    assert round(pce_ten_year_risk(70, "male", "white", 130, 100, 90, False, False, False) * 100, 1) == 5.9


@pytest.mark.parametrize(
    ("field", "value", "inside"),
    [
        ("age", 39, False), ("age", 40, True), ("age", 79, True), ("age", 80, False),
        ("total_cholesterol", 129, False), ("total_cholesterol", 130, True), ("total_cholesterol", 320, True), ("total_cholesterol", 321, False),
        ("hdl", 19, False), ("hdl", 20, True), ("hdl", 100, True), ("hdl", 101, False),
        ("systolic_bp", 89, False), ("systolic_bp", 90, True), ("systolic_bp", 200, True), ("systolic_bp", 201, False),
    ],
)
def test_ascvd_valid_range_edges(field, value, inside):
    """At the edges of the valid range there is a score; one step outside, none and a reason naming the input."""
    score = ascvd_score(given(sex="female", race_group="white", **{**GUIDELINE_EXAMPLE, field: value}))
    if inside:
        assert score.value is not None and score.reason is None
    else:
        assert score.value is None and score.category is None
        assert field in score.reason and "valid range" in score.reason


def test_ascvd_missing_inputs_are_named():
    score = ascvd_score(given(age=55, sex="female", systolic_bp=120))
    assert score.value is None
    assert score.missing == ["race_group", "total_cholesterol", "hdl", "bp_treated", "smoker", "diabetes"]
    assert [i.name for i in score.inputs] == ["age", "sex", "systolic_bp"]


def test_ascvd_does_not_apply_with_known_cardiovascular_disease():
    inputs = given(sex="male", race_group="white", **GUIDELINE_EXAMPLE) | {"ascvd_history": RiskInput("ascvd_history", True, "problems", None, "Old MI")}
    score = ascvd_score(inputs)
    assert score.value is None and not score.applicable and "secondary prevention" in score.reason


@pytest.mark.parametrize(("percent", "category"), [(4.9, "low"), (5.0, "borderline"), (7.4, "borderline"), (7.5, "intermediate"), (19.9, "intermediate"), (20.0, "high")])
def test_ascvd_categories(percent, category):
    assert ascvd_category(percent) == category


def test_ascvd_says_where_it_comes_from_and_its_range():
    score = ascvd_score(given(sex="female", race_group="white", **GUIDELINE_EXAMPLE))
    assert "Goff" in score.citation and "Pooled Cohort" in score.citation
    assert score.valid_range["age"] == {"min": 40, "max": 79, "unit": "years"}
    assert score.valid_range["total_cholesterol"]["max"] == 320


# ---------------------------------------------------------------- FINDRISC

FINDRISC_LOW = dict(age=40, sex="male", bmi=22.0, waist_cm=85, physically_active=True, daily_fruit_veg=True, bp_medication=False, high_glucose_history=False, family_diabetes="none")


def test_findrisc_minimum_is_zero_and_low():
    score = findrisc_score(given(**FINDRISC_LOW))
    assert (score.value, score.category) == (0, "low")
    assert score.details["estimated_10_year_risk"] == "about 1 in 100"


def test_findrisc_maximum_is_26_and_very_high():
    score = findrisc_score(given(age=70, sex="female", bmi=32.0, waist_cm=95, physically_active=False, daily_fruit_veg=False, bp_medication=True,
                                 high_glucose_history=True, family_diabetes="first_degree"))
    assert (score.value, score.category) == (26, "very_high")
    assert score.details["points"] == {"age": 4, "bmi": 3, "waist_cm": 4, "physically_active": 2, "daily_fruit_veg": 1, "bp_medication": 2,
                                       "high_glucose_history": 5, "family_diabetes": 5}


def test_findrisc_worked_example_moderate():
    """A 50-year-old man, BMI 27, waist 100 cm, inactive, eats vegetables daily, a parent with diabetes: 2+1+3+2+0+0+0+5 = 13."""
    score = findrisc_score(given(**{**FINDRISC_LOW, "age": 50, "bmi": 27.0, "waist_cm": 100, "physically_active": False, "family_diabetes": "first_degree"}))
    assert (score.value, score.category) == (13, "moderate")


@pytest.mark.parametrize(
    ("changes", "total"),
    [
        ({"age": 44}, 0), ({"age": 45}, 2), ({"age": 54}, 2), ({"age": 55}, 3), ({"age": 64}, 3), ({"age": 65}, 4),
        ({"bmi": 24.9}, 0), ({"bmi": 25.0}, 1), ({"bmi": 30.0}, 1), ({"bmi": 30.1}, 3),
        ({"waist_cm": 93.9}, 0), ({"waist_cm": 94}, 3), ({"waist_cm": 102}, 3), ({"waist_cm": 102.1}, 4),
        ({"sex": "female", "waist_cm": 79.9}, 0), ({"sex": "female", "waist_cm": 80}, 3), ({"sex": "female", "waist_cm": 88}, 3), ({"sex": "female", "waist_cm": 88.1}, 4),
        ({"family_diabetes": "second_degree"}, 3),
    ],
)
def test_findrisc_point_table_boundaries(changes, total):
    assert findrisc_score(given(**{**FINDRISC_LOW, **changes})).value == total


@pytest.mark.parametrize(("total", "category"), [(6, "low"), (7, "slightly_elevated"), (11, "slightly_elevated"), (12, "moderate"), (14, "moderate"), (15, "high"), (20, "high"), (21, "very_high")])
def test_findrisc_bands(total, category):
    assert findrisc_category(total)[0] == category


def test_findrisc_does_not_apply_to_people_with_diabetes():
    score = findrisc_score(given(**FINDRISC_LOW, diabetes=True))
    assert score.value is None and not score.applicable


def test_findrisc_names_missing_inputs():
    score = findrisc_score(given(age=50, sex="male"))
    assert score.value is None and "waist_cm" in score.missing and "family_diabetes" in score.missing


# ---------------------------------------------------------------- CHA2DS2-VASc

NO_RISK_FACTORS = dict(heart_failure=False, hypertension=False, diabetes=False, stroke_tia=False, vascular_disease=False)


def af(**values) -> dict[str, RiskInput]:
    return given(**values) | {"atrial_fibrillation": RiskInput("atrial_fibrillation", True, "problems", "2025-03-01", "Atrial fibrillation")}


def test_cha2ds2_vasc_needs_atrial_fibrillation():
    score = cha2ds2_vasc_score(given(age=80, sex="female", **NO_RISK_FACTORS))
    assert score.value is None and not score.applicable and "atrial fibrillation" in score.reason


def test_cha2ds2_vasc_man_under_65_without_risk_factors_is_zero():
    score = cha2ds2_vasc_score(af(age=60, sex="male", **NO_RISK_FACTORS))
    assert (score.value, score.category, score.details["stroke_rate_percent_per_year"]) == (0, "low", 0.0)


def test_cha2ds2_vasc_woman_by_sex_alone_is_low():
    """Female sex alone (1 point) does not raise the category."""
    score = cha2ds2_vasc_score(af(age=60, sex="female", **NO_RISK_FACTORS))
    assert (score.value, score.category) == (1, "low")


def test_cha2ds2_vasc_age_edges():
    assert cha2ds2_vasc_score(af(age=64, sex="male", **NO_RISK_FACTORS)).value == 0
    assert cha2ds2_vasc_score(af(age=65, sex="male", **NO_RISK_FACTORS)).value == 1
    assert cha2ds2_vasc_score(af(age=74, sex="male", **NO_RISK_FACTORS)).category == "moderate"
    assert cha2ds2_vasc_score(af(age=75, sex="male", **NO_RISK_FACTORS)).value == 2


def test_cha2ds2_vasc_woman_of_75_with_hypertension_is_4():
    """Lip 2010 / ESC 2010: 4 points, 4.0% strokes a year."""
    score = cha2ds2_vasc_score(af(age=75, sex="female", **{**NO_RISK_FACTORS, "hypertension": True}))
    assert (score.value, score.category, score.details["stroke_rate_percent_per_year"]) == (4, "high", 4.0)


def test_cha2ds2_vasc_maximum_is_9():
    score = cha2ds2_vasc_score(af(age=80, sex="female", heart_failure=True, hypertension=True, diabetes=True, stroke_tia=True, vascular_disease=True))
    assert (score.value, score.details["stroke_rate_percent_per_year"]) == (9, 15.2)
    assert score.inputs[0].name == "atrial_fibrillation" and "Lip" in score.citation
