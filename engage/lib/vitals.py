"""Vital types, units and plausibility: turning a parsed reading into its canonical form.

Readings are stored in one canonical unit per type (what the alert rules and trend
aggregations use) and keep the value and unit they were given in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from engage.models.base import utcnow

VITAL_TYPES = ("blood_pressure", "heart_rate", "glucose", "weight", "spo2", "temperature")

CANONICAL_UNIT = {
    "blood_pressure": "mmHg",
    "heart_rate": "bpm",
    "glucose": "mg/dL",
    "weight": "kg",
    "spo2": "%",
    "temperature": "°C",
}

# Accepted spellings of each unit, mapped to the name we keep.
UNIT_ALIASES: dict[str, dict[str, str]] = {
    "blood_pressure": {"mmhg": "mmHg", "mm[hg]": "mmHg"},
    "heart_rate": {"bpm": "bpm", "/min": "bpm", "beats/min": "bpm"},
    "glucose": {"mg/dl": "mg/dL", "mmol/l": "mmol/L"},
    "weight": {"kg": "kg", "lb": "lb", "lbs": "lb"},
    "spo2": {"%": "%"},
    "temperature": {"°c": "°C", "c": "°C", "cel": "°C", "°f": "°F", "f": "°F", "[degf]": "°F"},
}

# mg/dL per mmol/L of glucose (molar mass 180.16 g/mol).
GLUCOSE_MG_DL_PER_MMOL_L = 18.016
KG_PER_LB = 0.45359237

# Plausible canonical ranges: anything outside is a typo or a broken device, never a reading.
PLAUSIBLE = {
    "systolic": (50.0, 300.0),
    "diastolic": (20.0, 200.0),
    "heart_rate": (20.0, 300.0),
    "glucose": (10.0, 1500.0),
    "weight": (0.5, 650.0),
    "spo2": (50.0, 100.0),
    "temperature": (25.0, 45.0),
}

FUTURE_TOLERANCE = timedelta(seconds=60)  # device clocks drift a little
EARLIEST_READING = datetime(2000, 1, 1, tzinfo=UTC)


def to_canonical(vital_type: str, value: float, unit: str) -> float:
    if unit == "mmol/L":
        return value * GLUCOSE_MG_DL_PER_MMOL_L
    if unit == "lb":
        return value * KG_PER_LB
    if unit == "°F":
        return (value - 32.0) * 5.0 / 9.0
    return value


def from_canonical(vital_type: str, value: float, unit: str) -> float:
    if unit == "mmol/L":
        return value / GLUCOSE_MG_DL_PER_MMOL_L
    if unit == "lb":
        return value / KG_PER_LB
    if unit == "°F":
        return value * 9.0 / 5.0 + 32.0
    return value


def normalise_unit(vital_type: str, unit: str | None) -> str | None:
    """The unit's kept spelling, the canonical unit when none was given, None when unknown."""
    if unit is None:
        return CANONICAL_UNIT[vital_type]
    return UNIT_ALIASES[vital_type].get(unit.strip().lower())


def allowed_units(vital_type: str) -> list[str]:
    return sorted(set(UNIT_ALIASES[vital_type].values()))


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass
class CanonicalReading:
    type: str
    unit: str  # canonical
    value: float | None
    systolic: float | None
    diastolic: float | None
    given_unit: str
    given_value: float | None
    given_systolic: float | None
    given_diastolic: float | None
    taken_at: datetime
    source: str
    note: str | None


def _range_error(field: str, value: float, canonical_range: tuple[float, float], vital_type: str, unit: str) -> dict[str, str]:
    low, high = (round(from_canonical(vital_type, bound, unit), 1) for bound in canonical_range)
    return {"field": field, "message": f"{_fmt(value)} {unit} is not a plausible value (expected {_fmt(low)} to {_fmt(high)} {unit})."}


def check_reading(data: Any, now: datetime | None = None) -> tuple[CanonicalReading | None, list[dict[str, str]]]:
    """Plausibility of a schema-valid reading: the canonical reading, or per-field errors."""
    now = now or utcnow()
    errors: list[dict[str, str]] = []
    vital_type = data.type
    unit = normalise_unit(vital_type, data.unit)
    if unit is None:
        errors.append({"field": "unit", "message": f"'{data.unit}' is not a unit for {vital_type}; use one of {', '.join(allowed_units(vital_type))}."})
        unit = CANONICAL_UNIT[vital_type]

    taken_at = data.taken_at.astimezone(UTC)
    if taken_at > now + FUTURE_TOLERANCE:
        errors.append({"field": "taken_at", "message": "taken_at must not be in the future."})
    elif taken_at < EARLIEST_READING:
        errors.append({"field": "taken_at", "message": "taken_at must be after 2000-01-01."})

    value = systolic = diastolic = None
    if vital_type == "blood_pressure":
        if data.value is not None:
            errors.append({"field": "value", "message": "Blood pressure takes systolic and diastolic, not value."})
        for field in ("systolic", "diastolic"):
            if getattr(data, field) is None:
                errors.append({"field": field, "message": f"{field} is required for blood pressure."})
        if data.systolic is not None and data.diastolic is not None:
            for field in ("systolic", "diastolic"):
                given = getattr(data, field)
                low, high = PLAUSIBLE[field]
                if not low <= given <= high:
                    errors.append(_range_error(field, given, PLAUSIBLE[field], vital_type, unit))
            if data.systolic <= data.diastolic:
                errors.append({"field": "systolic", "message": "systolic must be higher than diastolic."})
            systolic, diastolic = float(data.systolic), float(data.diastolic)
    else:
        for field in ("systolic", "diastolic"):
            if getattr(data, field) is not None:
                errors.append({"field": field, "message": f"{field} is only for blood pressure."})
        if data.value is None:
            errors.append({"field": "value", "message": f"value is required for {vital_type}."})
        elif data.value <= 0:
            errors.append({"field": "value", "message": f"{vital_type} must be greater than 0."})
        else:
            canonical = to_canonical(vital_type, float(data.value), unit)
            low, high = PLAUSIBLE[vital_type]
            if not low <= canonical <= high:
                errors.append(_range_error("value", data.value, PLAUSIBLE[vital_type], vital_type, unit))
            value = round(canonical, 2)
    if errors:
        return None, errors
    return (
        CanonicalReading(
            type=vital_type,
            unit=CANONICAL_UNIT[vital_type],
            value=value,
            systolic=systolic,
            diastolic=diastolic,
            given_unit=unit,
            given_value=None if data.value is None else float(data.value),
            given_systolic=systolic,
            given_diastolic=diastolic,
            taken_at=taken_at,
            source=data.source,
            note=data.note,
        ),
        [],
    )


def bp_category(systolic: float, diastolic: float) -> str:
    """The 2017 ACC/AHA blood-pressure category (the higher of the two readings decides)."""
    if systolic >= 180 or diastolic >= 120:
        return "hypertensive_crisis"
    if systolic >= 140 or diastolic >= 90:
        return "stage_2"
    if systolic >= 130 or diastolic >= 80:
        return "stage_1"
    if systolic >= 120:
        return "elevated"
    return "normal"
