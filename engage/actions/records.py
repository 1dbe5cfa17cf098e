"""Writing the clinical record: notes (draft, sign, amend), problems, allergies, lab results, and
marking any entry entered-in-error. Only a doctor in the patient's care team writes; every write
keeps its author and time, and is audited like a read.

Notes change state with one conditional update each (status and version in the filter), so two
doctors signing or amending at once cannot both win: the loser gets a 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beanie import Document
from beanie import PydanticObjectId
from bson import ObjectId
from pymongo import ReturnDocument

from engage.actions.audit import record_health_data_access
from engage.actions.vital_alerts import do_clear_alert
from engage.actions.vital_alerts import do_raise_alert
from engage.errors import ApiError
from engage.errors import forbidden
from engage.errors import not_found
from engage.lib.care import access_patient_data
from engage.lib.records import encounter_visible
from engage.lib.records_labs import critical_limits
from engage.lib.records_labs import is_critical
from engage.lib.records_labs import known_test
from engage.lib.records_labs import lab_flag
from engage.lib.users import access_user
from engage.lib.vital_rules import Finding
from engage.models.appointment import Appointment
from engage.models.base import utcnow
from engage.models.document import MedicalDocument
from engage.models.records import ENTERED_IN_ERROR
from engage.models.records import Allergy
from engage.models.records import Encounter
from engage.models.records import ErrorMark
from engage.models.records import LabResult
from engage.models.records import NoteVersion
from engage.models.records import Problem
from engage.models.records import Soap
from engage.models.user import Role
from engage.models.user import User
from schemas.records import AllergyRequest
from schemas.records import AllergyUpdateRequest
from schemas.records import EncounterAmendRequest
from schemas.records import EncounterCreateRequest
from schemas.records import EncounterUpdateRequest
from schemas.records import LabResultRequest
from schemas.records import ProblemRequest
from schemas.records import ProblemUpdateRequest

# kind in the path -> (model, the status field that carries entered_in_error)
RECORD_MODELS: dict[str, tuple[type[Document], str]] = {
    "encounters": (Encounter, "status"),
    "problems": (Problem, "status"),
    "allergies": (Allergy, "status"),
    "lab-results": (LabResult, "status"),
    "documents": (MedicalDocument, "record_status"),
}


def _oid(value: str, what: str) -> PydanticObjectId:
    if not ObjectId.is_valid(str(value)):
        raise not_found(what)
    return PydanticObjectId(str(value))


async def access_record_writer(user_id: str, role: str, patient_id: str, action: str) -> tuple[User, User]:
    """The doctor writing and the patient written about: a doctor in the patient's care team (audited)."""
    if role != Role.doctor.value:
        raise forbidden("Only the patient's doctors write their record.")
    patient = await access_patient_data(user_id, role, patient_id)
    doctor = await access_user(user_id, Role.doctor)
    await record_health_data_access(user_id, role, patient_id, action, "record")
    return doctor, patient


async def access_record_reader(user_id: str, role: str, patient_id: str, action: str) -> User:
    """The patient whose record is read: themselves, or a patient of a doctor in their care team (audited)."""
    patient = await access_patient_data(user_id, role, patient_id)
    await record_health_data_access(user_id, role, patient_id, action, "record")
    return patient


async def _entry(model: type[Document], patient: User, item_id: str, what: str) -> Any:
    row = await model.find_one({"_id": _oid(item_id, what), "patient_id": patient.id})
    if row is None:
        raise not_found(what)
    return row


# ---- notes -------------------------------------------------------------------------------------


async def check_create_encounter(user_id: str, role: str, patient_id: str, request: EncounterCreateRequest) -> Encounter:
    """A related doctor starts a draft note, standalone or for one of the patient's appointments."""
    doctor, patient = await access_record_writer(user_id, role, patient_id, "record.encounter_create")
    occurred_at = request.occurred_at
    appointment_id = None
    if request.appointment_id:
        appointment = await Appointment.get_pymongo_collection().find_one(
            {"_id": PydanticObjectId(request.appointment_id), "patient_id": patient.id}, projection={"start": 1}
        )
        if appointment is None:
            raise ApiError(422, "unknown_appointment", "The appointment is not one of this patient's.", field="appointment_id")
        appointment_id = appointment["_id"]
        occurred_at = occurred_at or appointment["start"]
    soap = Soap(**request.model_dump(include={"subjective", "objective", "assessment", "plan"}))
    encounter = Encounter(patient_id=patient.id, author_id=doctor.id, author_name=doctor.name, appointment_id=appointment_id,
                          occurred_at=occurred_at or utcnow(), soap=soap)
    await encounter.insert()
    return encounter


async def _note_conflict(patient: User, encounter_id: str, user_id: str) -> ApiError:
    """Why a conditional update of a note matched nothing."""
    current = await _entry(Encounter, patient, encounter_id, "Note")
    if current.status == "draft" and str(current.author_id) != str(user_id):
        return not_found("Note")  # someone else's draft is invisible
    if current.status == ENTERED_IN_ERROR:
        return ApiError(409, "entered_in_error", "The note was marked entered in error.")
    if current.status == "signed":
        return ApiError(409, "note_signed", "The note is signed: amend it instead.")
    return ApiError(409, "note_not_signed", "The note is a draft: edit or sign it instead.")


async def check_update_encounter(user_id: str, role: str, patient_id: str, encounter_id: str, request: EncounterUpdateRequest) -> Encounter:
    """The author edits their draft; a signed note is never edited."""
    _, patient = await access_record_writer(user_id, role, patient_id, "record.encounter_update")
    changes = {f"soap.{k}": v for k, v in request.model_dump(exclude_none=True).items()}
    raw = await Encounter.get_pymongo_collection().find_one_and_update(
        {"_id": _oid(encounter_id, "Note"), "patient_id": patient.id, "status": "draft", "author_id": PydanticObjectId(user_id)},
        {"$set": {**changes, "updated_at": utcnow()}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        raise await _note_conflict(patient, encounter_id, user_id)
    return Encounter.model_validate(raw)


async def check_sign_encounter(user_id: str, role: str, patient_id: str, encounter_id: str) -> Encounter:
    """The author signs their draft: version 1, immutable from now on."""
    _, patient = await access_record_writer(user_id, role, patient_id, "record.encounter_sign")
    now = utcnow()
    raw = await Encounter.get_pymongo_collection().find_one_and_update(
        {"_id": _oid(encounter_id, "Note"), "patient_id": patient.id, "status": "draft", "author_id": PydanticObjectId(user_id)},
        {"$set": {"status": "signed", "version": 1, "signed_by": PydanticObjectId(user_id), "signed_at": now, "updated_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        raise await _note_conflict(patient, encounter_id, user_id)
    return Encounter.model_validate(raw)


async def check_amend_encounter(user_id: str, role: str, patient_id: str, encounter_id: str, request: EncounterAmendRequest) -> Encounter:
    """A related doctor corrects a signed note: the signed version is kept in history, the correction is the next version."""
    _, patient = await access_record_writer(user_id, role, patient_id, "record.encounter_amend")
    for _attempt in range(3):
        current = await _entry(Encounter, patient, encounter_id, "Note")
        if current.status != "signed":
            raise await _note_conflict(patient, encounter_id, user_id)
        kept = NoteVersion(version=current.version, soap=current.soap, signed_by=current.signed_by, signed_at=current.signed_at,
                           amendment_reason=current.amendment_reason)
        now = utcnow()
        soap = Soap(**request.model_dump(include={"subjective", "objective", "assessment", "plan"}))
        raw = await Encounter.get_pymongo_collection().find_one_and_update(
            {"_id": current.id, "status": "signed", "version": current.version},
            {"$set": {"soap": soap.model_dump(), "version": current.version + 1, "signed_by": PydanticObjectId(user_id), "signed_at": now,
                      "amendment_reason": request.reason, "updated_at": now},
             "$push": {"history": kept.model_dump()}},
            return_document=ReturnDocument.AFTER,
        )
        if raw is not None:
            return Encounter.model_validate(raw)
    raise ApiError(409, "note_changed", "The note changed meanwhile; reload it and try again.")


async def check_read_encounter(user_id: str, role: str, patient_id: str, encounter_id: str) -> Encounter:
    """One note with its versions: the patient reads it once signed; a draft only its author."""
    patient = await access_record_reader(user_id, role, patient_id, "record.encounter_read")
    encounter = await _entry(Encounter, patient, encounter_id, "Note")
    if not encounter_visible(encounter, user_id, role):
        raise not_found("Note")
    return encounter


# ---- problems and allergies --------------------------------------------------------------------


async def check_add_problem(user_id: str, role: str, patient_id: str, request: ProblemRequest) -> Problem:
    doctor, patient = await access_record_writer(user_id, role, patient_id, "record.problem_add")
    problem = Problem(patient_id=patient.id, condition=request.condition, icd10=request.icd10,
                      onset=str(request.onset) if request.onset else None, status=request.status, recorded_by=doctor.id)
    await problem.insert()
    return problem


async def _update_entry(model: type[Document], patient: User, item_id: str, what: str, changes: dict[str, Any], user_id: str) -> Any:
    raw = await model.get_pymongo_collection().find_one_and_update(
        {"_id": _oid(item_id, what), "patient_id": patient.id, "status": {"$ne": ENTERED_IN_ERROR}},
        {"$set": {**changes, "updated_by": PydanticObjectId(user_id), "updated_at": utcnow()}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        await _entry(model, patient, item_id, what)  # 404 when it is not there at all
        raise ApiError(409, "entered_in_error", f"The {what.lower()} was marked entered in error.")
    return model.model_validate(raw)


async def check_update_problem(user_id: str, role: str, patient_id: str, problem_id: str, request: ProblemUpdateRequest) -> Problem:
    """Resolve, reactivate or correct a problem (the author and time of the change are kept)."""
    _, patient = await access_record_writer(user_id, role, patient_id, "record.problem_update")
    changes = request.model_dump(exclude_none=True)
    if "onset" in changes:
        changes["onset"] = str(changes["onset"])
    return await _update_entry(Problem, patient, problem_id, "Problem", changes, user_id)


async def check_add_allergy(user_id: str, role: str, patient_id: str, request: AllergyRequest) -> Allergy:
    doctor, patient = await access_record_writer(user_id, role, patient_id, "record.allergy_add")
    allergy = Allergy(patient_id=patient.id, substance=request.substance, reaction=request.reaction, severity=request.severity,
                      status=request.status, recorded_by=doctor.id)
    await allergy.insert()
    return allergy


async def check_update_allergy(user_id: str, role: str, patient_id: str, allergy_id: str, request: AllergyUpdateRequest) -> Allergy:
    _, patient = await access_record_writer(user_id, role, patient_id, "record.allergy_update")
    return await _update_entry(Allergy, patient, allergy_id, "Allergy", request.model_dump(exclude_none=True), user_id)


# ---- lab results -------------------------------------------------------------------------------


def lab_alert_key(result_id: object) -> str:
    """The alert key of one critical result: each critical result is its own alert."""
    return f"lab:{result_id}"


async def check_add_lab_result(user_id: str, role: str, patient_id: str, request: LabResultRequest) -> LabResult:
    doctor, patient = await access_record_writer(user_id, role, patient_id, "record.lab_result_add")
    return await do_record_lab_result(patient, doctor, request)


async def do_record_lab_result(patient: User, doctor: User, request: LabResultRequest, document_id: PydanticObjectId | None = None,
                               taken_at: datetime | None = None) -> LabResult:
    """Store a result with its flag; a critical value raises an alert to the care team through the vitals alert path."""
    test = known_test(request.test_name, request.loinc)
    critical_low, critical_high = critical_limits(test, request.unit, request.critical_low, request.critical_high)
    flag = lab_flag(request.value, request.ref_low, request.ref_high, critical_low, critical_high)
    result = LabResult(
        patient_id=patient.id, test_name=request.test_name, loinc=request.loinc or (test.loinc if test else None), value=request.value,
        unit=request.unit, ref_low=request.ref_low, ref_high=request.ref_high, critical_low=critical_low, critical_high=critical_high,
        flag=flag, taken_at=request.taken_at or taken_at or utcnow(), recorded_by=doctor.id, document_id=document_id,
    )
    await result.insert()
    if is_critical(flag):
        direction = "low" if flag == "critical_low" else "high"
        finding = Finding(lab_alert_key(result.id), "lab_critical", "critical",
                          f"Lab result {result.test_name} {result.value:g} {result.unit} is critically {direction}.")
        alert = await do_raise_alert(patient, finding, vital_type=None, reading=None,
                                     values={"lab_result_id": str(result.id), "value": result.value, "unit": result.unit})
        result.alert_id = alert.id
        await LabResult.find_one(LabResult.id == result.id).update({"$set": {"alert_id": alert.id}})
    return result


# ---- entered in error ----------------------------------------------------------------------------


async def check_mark_entered_in_error(user_id: str, role: str, patient_id: str, kind: str, item_id: str, reason: str) -> Any:
    """Take an entry out of the record without deleting it: who, when and why are kept on it."""
    if kind not in RECORD_MODELS:
        raise not_found("Record entry")
    model, field = RECORD_MODELS[kind]
    _, patient = await access_record_writer(user_id, role, patient_id, f"record.{kind}_entered_in_error")
    entry = await _entry(model, patient, item_id, "Record entry")
    if kind == "encounters" and entry.status == "draft" and str(entry.author_id) != str(user_id):
        raise not_found("Record entry")  # someone else's draft is invisible
    mark = ErrorMark(by=PydanticObjectId(user_id), at=utcnow(), reason=reason)
    raw = await model.get_pymongo_collection().find_one_and_update(
        {"_id": entry.id, field: {"$ne": ENTERED_IN_ERROR}},
        {"$set": {field: ENTERED_IN_ERROR, "error": mark.model_dump()}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        raise ApiError(409, "entered_in_error", "The entry was already marked entered in error.")
    if kind == "lab-results" and entry.alert_id is not None:
        await do_clear_alert(patient, lab_alert_key(entry.id), None)  # a wrong value's alarm is over
    return model.model_validate(raw)
