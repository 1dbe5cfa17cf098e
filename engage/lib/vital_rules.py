"""Alert rules: which conditions a reading triggers, given default and per-patient limits.

Pure functions. Each rule family has a key; for every key a reading speaks to, the result
is either a Finding (the condition holds: open or keep an alert) or None (back in range:
clear it).
"""

from __future__ import annotations

from dataclasses import dataclass

from engage.lib.vitals import bp_category

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}

# Default limits in canonical units: alert when value < low or value > high (temperature: >= high).
DEFAULT_LIMITS: dict[str, dict[str, float]] = {
    "heart_rate": {"low": 40.0, "high": 130.0},  # resting heart rate
    "glucose": {"low": 70.0, "high": 250.0},  # mg/dL
    "spo2": {"low": 92.0},
    "temperature": {"high": 39.0},  # °C, inclusive
    "weight": {},
}
# Critical lines that per-patient thresholds cannot loosen.
CRITICAL_LOW = {"glucose": 54.0, "spo2": 88.0}  # ADA level 2 hypoglycaemia; severe hypoxaemia
CRITICAL_HIGH = {"temperature": 41.0}  # hyperpyrexia
INCLUSIVE_HIGH = {"temperature"}

TREND_WINDOW_DAYS = 7
TREND_COUNT = 3

LABELS = {
    "heart_rate": ("Heart rate", "bpm"),
    "glucose": ("Glucose", "mg/dL"),
    "spo2": ("SpO2", "%"),
    "temperature": ("Temperature", "°C"),
    "weight": ("Weight", "kg"),
}


@dataclass(frozen=True)
class Finding:
    key: str
    rule: str
    severity: str
    message: str


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def evaluate_blood_pressure(systolic: float, diastolic: float, limits: dict[str, float] | None) -> Finding | None:
    category = bp_category(systolic, diastolic)
    shown = f"{_fmt(systolic)}/{_fmt(diastolic)} mmHg"
    if category == "hypertensive_crisis":
        return Finding("blood_pressure", "bp_hypertensive_crisis", "critical", f"Blood pressure {shown}: hypertensive crisis range (ACC/AHA 2017).")
    limits = limits or {}
    sys_high = limits.get("systolic_high")
    dia_high = limits.get("diastolic_high")
    if sys_high is not None or dia_high is not None:
        if (sys_high is not None and systolic >= sys_high) or (dia_high is not None and diastolic >= dia_high):
            return Finding("blood_pressure", "bp_threshold_high", "warning", f"Blood pressure {shown} is at or above the patient's limit.")
    elif category == "stage_2":
        return Finding("blood_pressure", "bp_stage_2", "warning", f"Blood pressure {shown}: stage 2 hypertension range (ACC/AHA 2017).")
    sys_low = limits.get("systolic_low")
    dia_low = limits.get("diastolic_low")
    if (sys_low is not None and systolic < sys_low) or (dia_low is not None and diastolic < dia_low):
        return Finding("blood_pressure", "bp_threshold_low", "warning", f"Blood pressure {shown} is below the patient's limit.")
    return None


def evaluate_value(vital_type: str, value: float, limits: dict[str, float] | None) -> Finding | None:
    label, unit = LABELS[vital_type]
    shown = f"{label} {_fmt(value)} {unit}"
    # A patient's limit replaces the default on its side only.
    effective = dict(DEFAULT_LIMITS[vital_type])
    custom = {k: v for k, v in (limits or {}).items() if k in ("low", "high") and v is not None}
    effective.update(custom)
    if vital_type in CRITICAL_LOW and value < CRITICAL_LOW[vital_type]:
        return Finding(vital_type, f"{vital_type}_critical_low", "critical", f"{shown} is critically low.")
    if vital_type in CRITICAL_HIGH and value >= CRITICAL_HIGH[vital_type]:
        return Finding(vital_type, f"{vital_type}_critical_high", "critical", f"{shown} is critically high.")
    low = effective.get("low")
    high = effective.get("high")
    if low is not None and value < low:
        return Finding(vital_type, f"{vital_type}_low" + ("_threshold" if "low" in custom else ""), "warning", f"{shown} is below {_fmt(low)} {unit}.")
    if high is not None:
        over = value >= high if vital_type in INCLUSIVE_HIGH else value > high
        if over:
            word = "at or above" if vital_type in INCLUSIVE_HIGH else "above"
            return Finding(vital_type, f"{vital_type}_high" + ("_threshold" if "high" in custom else ""), "warning", f"{shown} is {word} {_fmt(high)} {unit}.")
    return None


def evaluate_reading(vital_type: str, value: float | None, systolic: float | None, diastolic: float | None,
                     thresholds: dict[str, dict[str, float]]) -> dict[str, Finding | None]:
    """For each rule key this reading speaks to: the finding, or None when in range."""
    limits = thresholds.get(vital_type)
    if vital_type == "blood_pressure":
        return {"blood_pressure": evaluate_blood_pressure(systolic or 0.0, diastolic or 0.0, limits)}
    if vital_type == "weight" and not limits:
        return {}  # weight has no default limits
    return {vital_type: evaluate_value(vital_type, value or 0.0, limits)}


def bp_is_elevated(category: str | None) -> bool:
    """Above normal in the 2017 ACC/AHA scheme (elevated, stage 1, stage 2 or crisis)."""
    return category is not None and category != "normal"


def trend_finding(elevated_count: int) -> Finding:
    return Finding("bp_trend", "bp_trend_elevated", "warning",
                   f"{elevated_count} elevated blood-pressure readings within {TREND_WINDOW_DAYS} days.")
