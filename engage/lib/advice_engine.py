"""The offline guideline engine: a 30-day summary of vitals and advice items, each tied to its rule.

Deterministic: the same readings always give the same advice. The optional LLM only rephrases
these items; it never decides what they say, and safety wording is always ours.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean
from typing import Any

from engage.lib.vitals import bp_category

DISCLAIMER = (
    "This advice is general information generated from your own readings. It is not a diagnosis and does not "
    "replace your doctor's advice. If you feel unwell or are worried, contact your doctor."
)
URGENT_NOTICE = "Some readings are red flags: seek urgent medical care now (call your local emergency number if you feel very unwell)."

GUIDELINES = {
    "acc_aha_2017": "2017 ACC/AHA Guideline for High Blood Pressure in Adults",
    "ada_standards": "ADA Standards of Care in Diabetes: glycemic targets and hypoglycemia",
    "spo2_target": "BTS guideline for oxygen use in adults: SpO2 below 92% needs assessment",
    "resting_hr": "AHA: normal resting heart rate 60-100 bpm",
    "fever": "Fever of 39.0 °C or higher (Engage default alert rule)",
    "weight_change": "Unintentional weight change of 5% or more within a month warrants review",
    "monitoring": "Home monitoring: regular readings make trends reliable",
    "ascvd_pce": "2013 ACC/AHA Pooled Cohort Equations; 2018 AHA/ACC cholesterol guideline risk categories",
    "findrisc": "FINDRISC (Lindström & Tuomilehto 2003): a score of 12 or more warrants a glucose test",
    "cha2ds2_vasc": "CHA2DS2-VASc (Lip 2010); ESC guideline: anticoagulation from 2 points (men) or 3 (women)",
}


def risk_summary(scores: list) -> dict[str, dict[str, Any]]:
    """The computed risk scores (engage.lib.risk_scores.RiskScore) as the rules see them: value and category only."""
    return {s.score: {"value": s.value, "category": s.category} for s in scores if s.value is not None}


def _risk_items(risk: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    items = []
    if (s := risk.get("ascvd_pce")) and s["category"] in ("intermediate", "high"):
        items.append(_item("ascvd_elevated", "ascvd_pce", "warning",
                           f"Your estimated 10-year risk of a heart attack or stroke is {s['value']:g}% ({s['category']}). "
                           "Ask your doctor whether a statin and tighter blood-pressure control are right for you.", None, dict(s)))
    elif s and s["category"] == "borderline":
        items.append(_item("ascvd_borderline", "ascvd_pce", "info",
                           f"Your estimated 10-year risk of a heart attack or stroke is {s['value']:g}% (borderline). Not smoking, "
                           "regular activity and a heart-healthy diet keep it down.", None, dict(s)))
    if (s := risk.get("findrisc")) and s["value"] >= 12:
        items.append(_item("findrisc_elevated", "findrisc", "info",
                           f"Your diabetes risk score is {s['value']} of 26 ({s['category'].replace('_', ' ')}). Ask your doctor for a blood "
                           "glucose test; more activity and a little weight loss lower the risk.", None, dict(s)))
    if (s := risk.get("cha2ds2_vasc")) and s["category"] == "high":
        items.append(_item("cha2ds2_vasc_high", "cha2ds2_vasc", "warning",
                           f"Your stroke risk score with atrial fibrillation is {s['value']} of 9. Guidelines recommend discussing "
                           "blood thinners (anticoagulation) with your doctor.", None, dict(s)))
    return items


def _round(value: float) -> float:
    return round(value, 1)


def summarize(readings: list[dict[str, Any]], days: int = 30) -> dict[str, Any]:
    """Statistics per vital type (no dates, no identifiers): what the rules and the LLM see."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for reading in sorted(readings, key=lambda r: r["taken_at"]):
        by_type[reading["type"]].append(reading)
    summary: dict[str, Any] = {"days": days, "reading_count": len(readings), "types": {}}
    for vital_type, rows in by_type.items():
        if vital_type == "blood_pressure":
            systolic = [r["systolic"] for r in rows]
            diastolic = [r["diastolic"] for r in rows]
            categories: dict[str, int] = defaultdict(int)
            for r in rows:
                categories[bp_category(r["systolic"], r["diastolic"])] += 1
            avg_s, avg_d = _round(mean(systolic)), _round(mean(diastolic))
            summary["types"][vital_type] = {
                "unit": "mmHg", "count": len(rows), "avg_systolic": avg_s, "avg_diastolic": avg_d,
                "max_systolic": max(systolic), "max_diastolic": max(diastolic),
                "average_category": bp_category(avg_s, avg_d), "categories": dict(sorted(categories.items())),
            }
            continue
        values = [r["value"] for r in rows]
        stats: dict[str, Any] = {"unit": rows[0]["unit"], "count": len(values), "min": _round(min(values)), "avg": _round(mean(values)),
                                 "max": _round(max(values)), "first": _round(values[0]), "latest": _round(values[-1])}
        if vital_type == "glucose":
            stats.update({"below_54": sum(v < 54 for v in values), "below_70": sum(v < 70 for v in values),
                          "above_180": sum(v > 180 for v in values), "above_250": sum(v > 250 for v in values)})
        elif vital_type == "spo2":
            stats.update({"below_88": sum(v < 88 for v in values), "below_92": sum(v < 92 for v in values)})
        elif vital_type == "heart_rate":
            stats.update({"below_40": sum(v < 40 for v in values), "above_130": sum(v > 130 for v in values)})
        elif vital_type == "temperature":
            stats.update({"at_least_39": sum(v >= 39.0 for v in values), "at_least_40": sum(v >= 40.0 for v in values)})
        elif vital_type == "weight":
            stats["change_percent"] = _round((values[-1] - values[0]) / values[0] * 100)
        summary["types"][vital_type] = stats
    return summary


def _item(rule: str, guideline: str, severity: str, text: str, vital_type: str | None, facts: dict[str, Any]) -> dict[str, Any]:
    return {"rule": rule, "guideline": GUIDELINES[guideline], "severity": severity, "text": text, "vital_type": vital_type, "facts": facts}


def _bp_items(s: dict[str, Any]) -> list[dict[str, Any]]:
    items = []
    crisis = s["categories"].get("hypertensive_crisis", 0)
    avg = f"{s['avg_systolic']:g}/{s['avg_diastolic']:g} mmHg"
    facts = {k: s[k] for k in ("count", "avg_systolic", "avg_diastolic", "average_category")}
    if crisis:
        items.append(_item("bp_hypertensive_crisis", "acc_aha_2017", "urgent",
                           f"{crisis} blood-pressure reading(s) were at 180/120 mmHg or higher, the hypertensive crisis range. "
                           "With chest pain, shortness of breath, back pain, numbness, weakness, vision changes or trouble speaking, "
                           "call emergency services now; otherwise contact your doctor today.", "blood_pressure", {"crisis_readings": crisis}))
    category = s["average_category"]
    if category in ("stage_2", "hypertensive_crisis"):
        items.append(_item("bp_average_stage_2", "acc_aha_2017", "warning",
                           f"Your average blood pressure was {avg}, in the stage 2 hypertension range (140/90 or higher). "
                           "Please book a review with your doctor about treatment; keep measuring twice a day.", "blood_pressure", facts))
    elif category == "stage_1":
        items.append(_item("bp_average_stage_1", "acc_aha_2017", "info",
                           f"Your average blood pressure was {avg}, in the stage 1 hypertension range (130-139/80-89). "
                           "Less salt (under 1,500 mg of sodium a day), a DASH-style diet, 150 minutes of activity a week and "
                           "limiting alcohol all lower it; talk to your doctor about your overall risk.", "blood_pressure", facts))
    elif category == "elevated":
        items.append(_item("bp_average_elevated", "acc_aha_2017", "info",
                           f"Your average blood pressure was {avg}, which is elevated (120-129 systolic). "
                           "Healthy habits now (less salt, regular activity, a healthy weight) can keep it from rising.", "blood_pressure", facts))
    else:
        items.append(_item("bp_average_normal", "acc_aha_2017", "info",
                           f"Your average blood pressure was {avg}, in the normal range. Keep up what you are doing.", "blood_pressure", facts))
    return items


def _glucose_items(s: dict[str, Any]) -> list[dict[str, Any]]:
    items = []
    if s["below_54"]:
        items.append(_item("glucose_level_2_hypoglycemia", "ada_standards", "urgent",
                           f"{s['below_54']} glucose reading(s) were below 54 mg/dL (level 2 hypoglycaemia). Treat a low right away with "
                           "15-20 g of fast sugar, and seek urgent care if you feel confused, drowsy or cannot eat or drink.", "glucose",
                           {"below_54": s["below_54"]}))
    elif s["below_70"]:
        items.append(_item("glucose_hypoglycemia", "ada_standards", "warning",
                           f"{s['below_70']} glucose reading(s) were below 70 mg/dL. Use the 15-15 rule: take 15 g of fast sugar, recheck after "
                           "15 minutes, and tell your doctor, as your treatment may need adjusting.", "glucose", {"below_70": s["below_70"]}))
    if s["above_250"]:
        items.append(_item("glucose_severe_hyperglycemia", "ada_standards", "warning",
                           f"{s['above_250']} glucose reading(s) were above 250 mg/dL. Drink water, check ketones if you have been told to, "
                           "and contact your care team if it stays high.", "glucose", {"above_250": s["above_250"]}))
    elif s["avg"] > 180:
        items.append(_item("glucose_above_target", "ada_standards", "info",
                           f"Your average glucose was {s['avg']:g} mg/dL, above the usual target (up to 180 mg/dL after meals). "
                           "Discuss your targets and treatment with your doctor.", "glucose", {"avg": s["avg"]}))
    if not items:
        items.append(_item("glucose_in_target", "ada_standards", "info",
                           f"Your glucose averaged {s['avg']:g} mg/dL with no readings below 70 or above 250 mg/dL.", "glucose", {"avg": s["avg"]}))
    return items


def build_items(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Advice items from a summary, most serious first, each with its rule and guideline."""
    types = summary["types"]
    items: list[dict[str, Any]] = []
    if "blood_pressure" in types:
        items += _bp_items(types["blood_pressure"])
    if "glucose" in types:
        items += _glucose_items(types["glucose"])
    if (s := types.get("spo2")) is not None:
        if s["below_88"]:
            items.append(_item("spo2_severe_hypoxaemia", "spo2_target", "urgent",
                               f"{s['below_88']} oxygen saturation reading(s) were below 88%. If you are short of breath, seek urgent care now.",
                               "spo2", {"below_88": s["below_88"]}))
        elif s["below_92"]:
            items.append(_item("spo2_low", "spo2_target", "warning",
                               f"{s['below_92']} oxygen saturation reading(s) were below 92%. Check the sensor is on a warm finger and contact "
                               "your doctor if readings stay low.", "spo2", {"below_92": s["below_92"]}))
    if (s := types.get("heart_rate")) is not None:
        if s["below_40"] or s["above_130"]:
            items.append(_item("heart_rate_out_of_range", "resting_hr", "warning",
                               f"Some resting heart-rate readings were below 40 or above 130 bpm ({s['below_40']} low, {s['above_130']} high). "
                               "Tell your doctor, especially with dizziness, fainting or palpitations.", "heart_rate",
                               {"below_40": s["below_40"], "above_130": s["above_130"]}))
        elif s["avg"] > 100:
            items.append(_item("heart_rate_high_average", "resting_hr", "info",
                               f"Your resting heart rate averaged {s['avg']:g} bpm, above 100. Measure after 5 minutes of rest and discuss it "
                               "with your doctor.", "heart_rate", {"avg": s["avg"]}))
    if (s := types.get("temperature")) is not None and s["at_least_39"]:
        severity = "urgent" if s["at_least_40"] else "warning"
        items.append(_item("fever_high", "fever", severity,
                           f"{s['at_least_39']} temperature reading(s) were 39.0 °C or higher. Rest and drink fluids; contact your doctor if "
                           "the fever lasts over 3 days or comes with a stiff neck, rash, confusion or breathing trouble.", "temperature",
                           {"at_least_39": s["at_least_39"], "at_least_40": s["at_least_40"]}))
    if (s := types.get("weight")) is not None and s["count"] >= 2 and abs(s["change_percent"]) >= 5:
        direction = "gained" if s["change_percent"] > 0 else "lost"
        items.append(_item("weight_change", "weight_change", "info",
                           f"You {direction} {abs(s['change_percent']):g}% of your body weight over the period. If this was not intended, "
                           "mention it to your doctor.", "weight", {"change_percent": s["change_percent"]}))
    items += _risk_items(summary.get("risk", {}))
    if summary["reading_count"] < 10:
        items.append(_item("data_completeness", "monitoring", "info",
                           f"Only {summary['reading_count']} reading(s) in {summary['days']} days. Regular readings (for blood pressure, "
                           "twice a day for a week before a visit) make this advice more reliable.", None, {"count": summary["reading_count"]}))
    order = {"urgent": 0, "warning": 1, "info": 2}
    items.sort(key=lambda item: order[item["severity"]])
    for number, item in enumerate(items, start=1):
        item["id"] = f"i{number}"
    return items
