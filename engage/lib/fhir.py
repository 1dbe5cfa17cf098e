"""Vitals as FHIR R4 Observations (vital-signs category, LOINC codes, UCUM units) in a searchset Bundle."""

from __future__ import annotations

from typing import Any

from engage.models.vitals import VitalReading

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}],
    "text": "Vital Signs",
}
# type -> (LOINC code, display, UCUM code, human unit)
CODES = {
    "heart_rate": ("8867-4", "Heart rate", "/min", "beats/minute"),
    "weight": ("29463-7", "Body weight", "kg", "kg"),
    "glucose": ("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", "mg/dL"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"),
    "temperature": ("8310-5", "Body temperature", "Cel", "°C"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")


def _code(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def observation(reading: VitalReading) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": str(reading.id),
        "meta": {"lastUpdated": reading.created_at.isoformat()},
        "status": "final",
        "category": [CATEGORY],
        "subject": {"reference": f"Patient/{reading.patient_id}"},
        "effectiveDateTime": reading.taken_at.isoformat(),
        "issued": reading.created_at.isoformat(),
    }
    if reading.type == "blood_pressure":
        resource["code"] = _code(*BP_PANEL)
        resource["component"] = [
            {"code": _code(*SYSTOLIC), "valueQuantity": _quantity(reading.systolic, "mmHg", "mm[Hg]")},
            {"code": _code(*DIASTOLIC), "valueQuantity": _quantity(reading.diastolic, "mmHg", "mm[Hg]")},
        ]
    else:
        code, display, ucum, unit = CODES[reading.type]
        resource["code"] = _code(code, display)
        resource["valueQuantity"] = _quantity(reading.value, unit, ucum)
    if reading.note:
        resource["note"] = [{"text": reading.note}]
    if reading.source == "device":
        resource["method"] = {"text": "device"}
    return resource


def searchset(readings: list[VitalReading], total: int, self_url: str, base_url: str) -> dict[str, Any]:
    """A searchset Bundle; base_url is ENGAGE_PUBLIC_URL, or "" for relative references."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {"fullUrl": f"{base_url}/fhir/Observation/{r.id}", "resource": observation(r), "search": {"mode": "match"}}
            for r in readings
        ],
    }
