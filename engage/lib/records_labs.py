"""Lab tests Engage knows by name: LOINC codes, UCUM units, critical limits, and the flags a value gets.

A result is flagged from the range it came with: below ref_low "low", above ref_high "high";
beyond a critical limit (given with the result, or known here for the test in its usual unit)
"critical_low" / "critical_high", which raises an alert to the care team.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class LabTest:
    name: str  # display name
    loinc: str
    unit: str  # the usual unit, as people write it
    ucum: str
    aliases: tuple[str, ...]
    critical_low: float | None = None  # in `unit`
    critical_high: float | None = None


# Critical limits: common laboratory critical-value lists (e.g. CAP surveys), for the usual unit only.
LAB_TESTS: tuple[LabTest, ...] = (
    LabTest("HbA1c", "4548-4", "%", "%", ("hba1c", "a1c", "hemoglobin a1c", "haemoglobin a1c", "glycated hemoglobin", "glycated haemoglobin")),
    LabTest("Glucose", "2345-7", "mg/dL", "mg/dL", ("glucose", "blood glucose", "fasting glucose", "plasma glucose"), 54, 400),
    LabTest("Potassium", "2823-3", "mmol/L", "mmol/L", ("potassium", "k"), 2.8, 6.2),
    LabTest("Sodium", "2951-2", "mmol/L", "mmol/L", ("sodium", "na"), 120, 160),
    LabTest("Hemoglobin", "718-7", "g/dL", "g/dL", ("hemoglobin", "haemoglobin", "hb", "hgb"), 7, 20),
    LabTest("Creatinine", "2160-0", "mg/dL", "mg/dL", ("creatinine",)),
    LabTest("Total cholesterol", "2093-3", "mg/dL", "mg/dL", ("cholesterol", "total cholesterol")),
    LabTest("LDL cholesterol", "13457-7", "mg/dL", "mg/dL", ("ldl", "ldl cholesterol", "ldl-c")),
    LabTest("HDL cholesterol", "2085-9", "mg/dL", "mg/dL", ("hdl", "hdl cholesterol", "hdl-c")),
    LabTest("Triglycerides", "2571-8", "mg/dL", "mg/dL", ("triglycerides", "tg")),
    LabTest("TSH", "3016-3", "mIU/L", "m[IU]/L", ("tsh", "thyrotropin")),
    LabTest("White blood cells", "6690-2", "10^3/uL", "10*3/uL", ("wbc", "white blood cells", "leukocytes"), 2, 30),
    LabTest("Platelets", "777-3", "10^3/uL", "10*3/uL", ("platelets", "plt"), 20, 1000),
    LabTest("ALT", "1742-6", "U/L", "U/L", ("alt", "alanine aminotransferase")),
    LabTest("INR", "6301-6", "{INR}", "{INR}", ("inr",), None, 5),
)

_BY_ALIAS = {alias: test for test in LAB_TESTS for alias in test.aliases}
_BY_LOINC = {test.loinc: test for test in LAB_TESTS}
# People write units many ways; UCUM wants one.
UCUM_UNITS = {
    "%": "%", "mg/dl": "mg/dL", "mmol/l": "mmol/L", "g/dl": "g/dL", "g/l": "g/L", "u/l": "U/L", "iu/l": "[IU]/L",
    "miu/l": "m[IU]/L", "uiu/ml": "u[IU]/mL", "mmol/mol": "mmol/mol", "umol/l": "umol/L", "ng/ml": "ng/mL", "pg/ml": "pg/mL",
    "10^3/ul": "10*3/uL", "x10^3/ul": "10*3/uL", "10^9/l": "10*9/L", "meq/l": "meq/L", "{inr}": "{INR}", "ratio": "{ratio}",
}

FLAG_TEXT = {
    "normal": "Within the expected range.",
    "low": "Lower than the expected range. Your care team will tell you if anything needs doing.",
    "high": "Higher than the expected range. Your care team will tell you if anything needs doing.",
    "critical_low": "Much lower than expected. Your care team has been alerted and will contact you.",
    "critical_high": "Much higher than expected. Your care team has been alerted and will contact you.",
}


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", " ", name.lower())).strip()


def known_test(name: str | None = None, loinc: str | None = None) -> LabTest | None:
    """The catalogue entry for a LOINC code or a test name (any of its aliases)."""
    if loinc and loinc in _BY_LOINC:
        return _BY_LOINC[loinc]
    return _BY_ALIAS.get(_key(name)) if name else None


def ucum_unit(unit: str) -> str | None:
    return UCUM_UNITS.get(unit.strip().lower().replace(" ", ""))


def critical_limits(test: LabTest | None, unit: str, low: float | None, high: float | None) -> tuple[float | None, float | None]:
    """The limits given with the result, else the known ones when the result is in the test's usual unit."""
    if test is not None and ucum_unit(unit) == test.ucum:
        low = low if low is not None else test.critical_low
        high = high if high is not None else test.critical_high
    return low, high


def lab_flag(value: float, ref_low: float | None, ref_high: float | None, critical_low: float | None, critical_high: float | None) -> str:
    if critical_low is not None and value <= critical_low:
        return "critical_low"
    if critical_high is not None and value >= critical_high:
        return "critical_high"
    if ref_low is not None and value < ref_low:
        return "low"
    if ref_high is not None and value > ref_high:
        return "high"
    return "normal"


def is_critical(flag: str) -> bool:
    return flag.startswith("critical")
