"""Advice uses the risk scores: an elevated score becomes an item tied to its guideline."""

from __future__ import annotations

from engage.lib.advice_engine import build_items
from engage.lib.advice_engine import risk_summary
from engage.lib.risk_scores import RiskInput
from engage.lib.risk_scores import all_scores


def summary_with(risk: dict) -> dict:
    return {"days": 30, "reading_count": 20, "types": {}, "risk": risk}


def test_intermediate_ascvd_risk_suggests_asking_about_a_statin():
    items = build_items(summary_with({"ascvd_pce": {"value": 12.2, "category": "intermediate"}}))
    assert [i["rule"] for i in items] == ["ascvd_elevated"]
    assert items[0]["severity"] == "warning" and "12.2%" in items[0]["text"] and "Pooled Cohort" in items[0]["guideline"]


def test_low_scores_add_nothing():
    risk = {"ascvd_pce": {"value": 2.1, "category": "low"}, "findrisc": {"value": 6, "category": "low"}, "cha2ds2_vasc": {"value": 1, "category": "low"}}
    assert build_items(summary_with(risk)) == []


def test_findrisc_of_12_and_high_cha2ds2_vasc_each_give_an_item():
    items = build_items(summary_with({"findrisc": {"value": 12, "category": "moderate"}, "cha2ds2_vasc": {"value": 4, "category": "high"}}))
    assert {i["rule"] for i in items} == {"findrisc_elevated", "cha2ds2_vasc_high"}


def test_risk_summary_keeps_only_computed_scores():
    inputs = {n: RiskInput(n, v, "answers") for n, v in dict(age=55, sex="female", race_group="white", total_cholesterol=213, hdl=50, systolic_bp=120,
                                                                bp_treated=False, smoker=False, diabetes=False).items()}
    assert risk_summary(all_scores(inputs)) == {"ascvd_pce": {"value": 2.1, "category": "low"}}
