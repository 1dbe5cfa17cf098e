"""The record as FHIR R4 resources: Patient, Encounter, Condition, AllergyIntolerance, Observation
(laboratory; vitals come from engage.lib.fhir), MedicationRequest, DocumentReference (visit notes
and uploaded documents) and Appointment, and the CapabilityStatement of what /fhir serves.

Codes: LOINC and UCUM where Engage knows them (engage.lib.records_labs), ICD-10 for problems.
"""

from __future__ import annotations

import base64
from typing import Any

from engage.lib.fhir import LOINC
from engage.lib.fhir import UCUM
from engage.lib.records_labs import known_test
from engage.lib.records_labs import ucum_unit
from engage.models.appointment import Appointment
from engage.models.document import MedicalDocument
from engage.models.medication import Prescription
from engage.models.records import Allergy
from engage.models.records import Encounter
from engage.models.records import LabResult
from engage.models.records import Problem
from engage.models.user import User

ICD10 = "http://hl7.org/fhir/sid/icd-10"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
FLAG_CODES = {"normal": ("N", "Normal"), "low": ("L", "Low"), "high": ("H", "High"), "critical_low": ("LL", "Critical low"), "critical_high": ("HH", "Critical high")}
APPOINTMENT_STATUS = {"booked": "booked", "confirmed": "booked", "checked_in": "checked-in", "completed": "fulfilled", "cancelled": "cancelled", "no_show": "noshow"}
PROGRESS_NOTE = ("11506-3", "Progress note")

# What /fhir serves, for the CapabilityStatement (GET /fhir/metadata).
EVERYTHING_TYPES = ("Patient", "Encounter", "Condition", "AllergyIntolerance", "Observation", "MedicationRequest", "DocumentReference", "Appointment")


def _ref(patient_id: Any) -> dict[str, str]:
    return {"reference": f"Patient/{patient_id}"}


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def patient_resource(patient: User) -> dict[str, Any]:
    telecom = [{"system": "email", "value": patient.email, "use": "home"}]
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone, "use": "mobile"})
    return {"resourceType": "Patient", "id": str(patient.id), "active": True, "name": [{"text": patient.name}], "telecom": telecom}


def encounter_resource(e: Encounter) -> dict[str, Any]:
    status = {"signed": "finished", "draft": "in-progress", "entered_in_error": "entered-in-error"}[e.status]
    resource: dict[str, Any] = {
        "resourceType": "Encounter", "id": str(e.id), "status": status, "class": _coding(ACT_CODE, "AMB", "ambulatory"),
        "subject": _ref(e.patient_id), "period": {"start": e.occurred_at.isoformat()},
        "participant": [{"individual": {"display": e.author_name}}],
    }
    if e.appointment_id:
        resource["appointment"] = [{"reference": f"Appointment/{e.appointment_id}"}]
    return resource


def note_resource(e: Encounter) -> dict[str, Any]:
    """A signed visit note as a DocumentReference holding its SOAP text (version and amendment reason kept)."""
    text = "\n\n".join(f"{part.capitalize()}:\n{getattr(e.soap, part)}" for part in ("subjective", "objective", "assessment", "plan"))
    if e.amendment_reason:
        text += f"\n\nAmended (version {e.version}): {e.amendment_reason}"
    return {
        "resourceType": "DocumentReference", "id": f"note-{e.id}", "status": "current", "docStatus": "amended" if e.version > 1 else "final",
        "type": {"coding": [_coding(LOINC, *PROGRESS_NOTE)], "text": PROGRESS_NOTE[1]}, "subject": _ref(e.patient_id),
        "date": (e.signed_at or e.updated_at).isoformat(), "author": [{"display": e.author_name}],
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": base64.b64encode(text.encode()).decode(), "title": f"Visit note v{e.version}"}}],
        "context": {"encounter": [{"reference": f"Encounter/{e.id}"}]},
    }


def condition_resource(p: Problem) -> dict[str, Any]:
    code: dict[str, Any] = {"text": p.condition}
    if p.icd10:
        code["coding"] = [_coding(ICD10, p.icd10, p.condition)]
    resource: dict[str, Any] = {
        "resourceType": "Condition", "id": str(p.id),
        "clinicalStatus": {"coding": [_coding(CONDITION_CLINICAL, p.status)]},
        "verificationStatus": {"coding": [_coding(CONDITION_VERIFICATION, "confirmed")]},
        "code": code, "subject": _ref(p.patient_id), "recordedDate": p.recorded_at.isoformat(),
    }
    if p.onset:
        resource["onsetDateTime"] = p.onset
    return resource


def allergy_resource(a: Allergy) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance", "id": str(a.id),
        "clinicalStatus": {"coding": [_coding(ALLERGY_CLINICAL, a.status)]},
        "verificationStatus": {"coding": [_coding(ALLERGY_VERIFICATION, "confirmed")]},
        "code": {"text": a.substance}, "patient": _ref(a.patient_id), "recordedDate": a.recorded_at.isoformat(),
        "criticality": "high" if a.severity == "severe" else "low",
    }
    if a.reaction:
        resource["reaction"] = [{"manifestation": [{"text": a.reaction}], "severity": a.severity}]
    return resource


def _quantity(value: float, unit: str) -> dict[str, Any]:
    code = ucum_unit(unit)
    return {"value": value, "unit": unit, **({"system": UCUM, "code": code} if code else {})}


def lab_observation(r: LabResult) -> dict[str, Any]:
    test = known_test(r.test_name, r.loinc)
    loinc = r.loinc or (test.loinc if test else None)
    code: dict[str, Any] = {"text": r.test_name}
    if loinc:
        code["coding"] = [_coding(LOINC, loinc, test.name if test else r.test_name)]
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": str(r.id), "status": "final",
        "category": [{"coding": [_coding(OBSERVATION_CATEGORY, "laboratory", "Laboratory")], "text": "Laboratory"}],
        "code": code, "subject": _ref(r.patient_id), "effectiveDateTime": r.taken_at.isoformat(), "issued": r.recorded_at.isoformat(),
        "valueQuantity": _quantity(r.value, r.unit),
        "interpretation": [{"coding": [_coding(INTERPRETATION, *FLAG_CODES[r.flag])]}],
    }
    if r.ref_low is not None or r.ref_high is not None:
        limits = {"low": r.ref_low, "high": r.ref_high}
        resource["referenceRange"] = [{name: _quantity(value, r.unit) for name, value in limits.items() if value is not None}]
    if r.document_id:
        resource["derivedFrom"] = [{"reference": f"DocumentReference/{r.document_id}"}]
    return resource


def medication_request(p: Prescription) -> dict[str, Any]:
    dosage: dict[str, Any] = {
        "text": f"{p.dose} at {', '.join(p.times)} ({p.timezone})" + (f"; {p.instructions}" if p.instructions else ""),
        "timing": {"repeat": {"timeOfDay": [f"{t}:00" for t in p.times], "boundsPeriod": {"start": p.start_date, "end": p.end_date}}},
    }
    return {
        "resourceType": "MedicationRequest", "id": str(p.id), "status": "active" if p.active else "stopped", "intent": "order",
        "medicationCodeableConcept": {"text": p.drug}, "subject": _ref(p.patient_id), "authoredOn": p.created_at.isoformat(),
        "requester": {"reference": f"Practitioner/{p.doctor_id}"}, "dosageInstruction": [dosage],
    }


def document_reference(d: MedicalDocument, base_url: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference", "id": str(d.id), "status": "current", "subject": _ref(d.patient_id),
        "date": d.uploaded_at.isoformat(), "type": {"text": "Uploaded document"},
        "content": [{"attachment": {"contentType": d.content_type, "url": f"{base_url}/api/documents/{d.id}", "title": d.filename, "size": d.size}}],
    }
    if d.summary:
        resource["description"] = d.summary[:1000]
    return resource


def appointment_resource(a: Appointment) -> dict[str, Any]:
    return {
        "resourceType": "Appointment", "id": str(a.id), "status": APPOINTMENT_STATUS.get(a.status, "booked"),
        "start": a.start.isoformat(), "end": a.end.isoformat(), **({"description": a.reason} if a.reason else {}),
        "participant": [
            {"actor": {**_ref(a.patient_id), "display": "Patient"}, "status": "accepted"},
            {"actor": {"display": f"{a.resource_name}, {a.clinic_name}"}, "status": "accepted"},
        ],
    }


def everything_bundle(resources: list[dict[str, Any]], self_url: str, base_url: str) -> dict[str, Any]:
    """Patient/$everything: a searchset Bundle of every resource (base_url is ENGAGE_PUBLIC_URL, or "" for relative references)."""
    return {
        "resourceType": "Bundle", "type": "searchset", "total": len(resources), "link": [{"relation": "self", "url": self_url}],
        "entry": [{"fullUrl": f"{base_url}/fhir/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}} for r in resources],
    }


def capability_statement(base_url: str, software_version: str, date: str) -> dict[str, Any]:
    """What /fhir serves: Observation search by patient, and Patient/$everything."""
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": date, "kind": "instance", "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"], "software": {"name": "Engage", "version": software_version},
        "implementation": {"description": "Engage patient engagement server", **({"url": f"{base_url}/fhir"} if base_url else {})},
        "rest": [{
            "mode": "server",
            "security": {"description": "OAuth-style Bearer access tokens from POST /api/auth/login; the patient or a doctor in their care team."},
            "resource": [
                {"type": "Patient", "operation": [{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]},
                {"type": "Observation", "interaction": [{"code": "search-type"}],
                 "searchParam": [{"name": "patient", "type": "reference"}, {"name": "_count", "type": "number"}]},
                *({"type": t, "documentation": "Returned by Patient/$everything."} for t in EVERYTHING_TYPES if t not in ("Patient", "Observation")),
            ],
        }],
    }
