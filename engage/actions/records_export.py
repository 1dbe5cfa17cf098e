"""The patient's whole record as FHIR (Patient/$everything): the patient themselves or a related doctor (audited).

Every kind is one bounded query for the patient's newest entries; drafts and entries marked
entered-in-error are left out (only what the record stands by is exported).
"""

from __future__ import annotations

from typing import Any

from engage.actions.records import access_record_reader
from engage.lib.fhir import observation
from engage.lib.records_fhir import allergy_resource
from engage.lib.records_fhir import appointment_resource
from engage.lib.records_fhir import condition_resource
from engage.lib.records_fhir import document_reference
from engage.lib.records_fhir import encounter_resource
from engage.lib.records_fhir import lab_observation
from engage.lib.records_fhir import medication_request
from engage.lib.records_fhir import note_resource
from engage.lib.records_fhir import patient_resource
from engage.models.appointment import Appointment
from engage.models.document import MedicalDocument
from engage.models.medication import Prescription
from engage.models.records import ENTERED_IN_ERROR
from engage.models.records import Allergy
from engage.models.records import Encounter
from engage.models.records import LabResult
from engage.models.records import Problem
from engage.models.vitals import VitalReading

EXPORT_LIMIT = 5000  # newest entries of each kind


async def check_export_record(user_id: str, role: str, patient_id: str, base_url: str) -> list[dict[str, Any]]:
    """Every resource of the patient's record, as FHIR R4 dicts."""
    patient = await access_record_reader(user_id, role, patient_id, "record.fhir_export")
    mine = {"patient_id": patient.id}
    standing = {**mine, "status": {"$ne": ENTERED_IN_ERROR}}
    resources: list[dict[str, Any]] = [patient_resource(patient)]
    notes = await Encounter.find({**mine, "status": "signed"}).sort(-Encounter.occurred_at).limit(EXPORT_LIMIT).to_list()
    resources += [encounter_resource(e) for e in notes]
    resources += [condition_resource(p) for p in await Problem.find(standing).sort(-Problem.recorded_at).limit(EXPORT_LIMIT).to_list()]
    resources += [allergy_resource(a) for a in await Allergy.find(standing).sort(-Allergy.recorded_at).limit(EXPORT_LIMIT).to_list()]
    resources += [lab_observation(r) for r in await LabResult.find(standing).sort(-LabResult.taken_at).limit(EXPORT_LIMIT).to_list()]
    resources += [observation(v) for v in await VitalReading.find(mine).sort(-VitalReading.taken_at).limit(EXPORT_LIMIT).to_list()]
    resources += [medication_request(p) for p in await Prescription.find(mine).sort(-Prescription.created_at).limit(EXPORT_LIMIT).to_list()]
    resources += [note_resource(e) for e in notes]
    documents = MedicalDocument.find({**mine, "record_status": {"$ne": ENTERED_IN_ERROR}}).sort(-MedicalDocument.uploaded_at)
    resources += [document_reference(d, base_url) for d in await documents.limit(EXPORT_LIMIT).to_list()]
    appointments = Appointment.find({**mine, "status": {"$ne": "held"}}).sort(-Appointment.start).limit(EXPORT_LIMIT)
    resources += [appointment_resource(a) for a in await appointments.to_list()]
    return resources
