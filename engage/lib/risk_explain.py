"""The risk scores in plain language, with what would lower each: for the patient app and advice."""

from __future__ import annotations

from engage.lib.risk_scores import ASCVD
from engage.lib.risk_scores import CHA2DS2_VASC
from engage.lib.risk_scores import FINDRISC
from engage.lib.risk_scores import RiskScore

# Which questionnaire field supplies an input the record lacks.
QUESTION_FOR_INPUT = {
    "age": "birth_date", "sex": "sex", "race_group": "race_group", "smoker": "smoker", "waist_cm": "waist_cm", "bmi": "height_cm",
    "physically_active": "physically_active", "daily_fruit_veg": "daily_fruit_veg", "high_glucose_history": "high_glucose_history",
    "family_diabetes": "family_diabetes", "bp_medication": "bp_medication", "bp_treated": "bp_treated", "diabetes": "diabetes",
}


def explanation(score: RiskScore) -> str:
    if score.value is None:
        return f"This score cannot be worked out yet: {score.reason}."
    if score.score == ASCVD:
        return (f"Out of 100 people with the same results as you, about {round(score.value):g} would have a heart attack or stroke "
                f"in the next 10 years. That is {score.category.replace('_', ' ')} risk.")
    if score.score == FINDRISC:
        return (f"You scored {score.value} of 26 points. {score.details['estimated_10_year_risk'].capitalize()} people with this score "
                f"develop type 2 diabetes within 10 years ({score.category.replace('_', ' ')} risk).")
    return (f"You scored {score.value} of 9 points. With atrial fibrillation and this score, about {score.details['stroke_rate_percent_per_year']:g} "
            f"in 100 people a year have a stroke without treatment ({score.category} risk); talk to your doctor about blood thinners.")


def what_lowers_it(score: RiskScore) -> list[str]:
    """Changes that would lower the score, from its own inputs (nothing for what cannot change)."""
    used = {i.name: i.value for i in score.inputs}
    tips: list[str] = []
    if score.score == ASCVD:
        if used.get("smoker"):
            tips.append("Stopping smoking lowers this risk more than anything else.")
        if (used.get("systolic_bp") or 0) >= 130:
            tips.append("Bringing your systolic blood pressure below 130 mmHg (less salt, activity, medicines your doctor advises).")
        if (used.get("total_cholesterol") or 0) >= 200 or (used.get("hdl") or 100) < 40:
            tips.append("Improving your cholesterol (diet, activity, and a statin if your doctor recommends one).")
        if used.get("diabetes"):
            tips.append("Keeping your diabetes well controlled.")
    elif score.score == FINDRISC:
        if (used.get("bmi") or 0) >= 25:
            tips.append("Losing some weight: even 5% of your body weight makes a difference.")
        if used.get("physically_active") is False:
            tips.append("Being active for at least 30 minutes a day.")
        if used.get("daily_fruit_veg") is False:
            tips.append("Eating vegetables, fruit or berries every day.")
    elif score.score == CHA2DS2_VASC and score.value:
        tips.append("This score mostly reflects conditions and age; well-controlled blood pressure and diabetes keep it from rising.")
    return tips


def questions(scores: list[RiskScore]) -> list[str]:
    """The questionnaire fields that would fill the scores' missing inputs."""
    wanted = [QUESTION_FOR_INPUT[name] for s in scores if s.applicable for name in s.missing if name in QUESTION_FOR_INPUT]
    return list(dict.fromkeys(wanted))
