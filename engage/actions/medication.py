"""Medication reminders: prescriptions, scheduled doses with reminders through the notifications
pipeline, marking doses taken (socket, REST, SMS "TAKEN"), missed doses and escalation."""

from __future__ import annotations

import logging
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from beanie import PydanticObjectId
from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError

from engage.actions.audit import record_health_data_access
from engage.actions.notifications import cancel_notifications
from engage.actions.notifications import request_notification
from engage.actions.vital_alerts import do_clear_alert
from engage.actions.vital_alerts import do_raise_alert
from engage.config import get_settings
from engage.errors import ApiError
from engage.errors import forbidden
from engage.errors import not_found
from engage.events import publish_to_users
from engage.events.vitals import DOSE
from engage.lib.care import access_patient_data
from engage.lib.medication_schedule import adherence
from engage.lib.medication_schedule import dose_slots
from engage.lib.users import access_user
from engage.lib.vital_rules import Finding
from engage.models.base import utcnow
from engage.models.medication import MedicationDose
from engage.models.medication import Prescription
from engage.models.pharmacy import StockEntry
from engage.models.user import Role
from engage.models.user import User
from schemas.vitals import DispensingOut
from schemas.vitals import DoseEvent
from schemas.vitals import DoseOut
from schemas.vitals import PrescriptionOut
from schemas.vitals import PrescriptionRequest

log = logging.getLogger(__name__)

EARLY_TAKE = timedelta(hours=1)  # a dose can be marked taken up to an hour before its time


def prescription_out(p: Prescription) -> PrescriptionOut:
    return PrescriptionOut.model_validate(p)


def dose_out(d: MedicationDose) -> DoseOut:
    return DoseOut.model_validate(d)


def reminder_key(prescription_id: object, dose_id: object | None = None) -> str:
    return f"medication:{prescription_id}:" + (f"{dose_id}" if dose_id else "")


async def check_prescribe(user_id: str, role: str, patient_id: str, request: PrescriptionRequest) -> Prescription:
    """A related doctor prescribes; the first doses and their reminders are scheduled at once."""
    if role != Role.doctor.value:
        raise forbidden("Only doctors prescribe.")
    patient = await access_patient_data(user_id, role, patient_id)
    today = datetime.now(ZoneInfo(patient.timezone)).date()
    if request.end_date < today:
        raise ApiError(422, "validation_error", "end_date: the prescription has already ended.", field="end_date")
    await record_health_data_access(user_id, role, patient_id, "medication.prescribe", "prescriptions")
    prescription = Prescription(
        patient_id=patient.id, doctor_id=PydanticObjectId(user_id), drug=request.drug, dose=request.dose, times=request.times,
        timezone=patient.timezone, start_date=request.start_date.isoformat(), end_date=request.end_date.isoformat(),
        instructions=request.instructions, missed_doses_alert=request.missed_doses_alert or get_settings().medication_missed_alert,
    )
    await prescription.insert()
    await do_schedule_doses(prescription)
    return prescription


async def do_schedule_doses(prescription: Prescription, now: datetime | None = None) -> int:
    """Create the doses due before now + horizon (once each) and ask for their reminders; returns how many."""
    now = now or utcnow()
    until = now + timedelta(hours=get_settings().medication_horizon_hours)
    after = prescription.scheduled_until or prescription.created_at
    if until <= after:
        return 0
    slots = dose_slots(prescription.times, date.fromisoformat(prescription.start_date), date.fromisoformat(prescription.end_date),
                       prescription.timezone, after, until)
    if not slots:
        return 0  # nothing new: leave scheduled_until, the next scan looks at a slightly longer window
    doses = [MedicationDose(id=PydanticObjectId(), prescription_id=prescription.id, patient_id=prescription.patient_id,
                            scheduled_at=at, local_date=day, local_time=hhmm) for at, day, hhmm in slots]
    created = doses
    if doses:
        try:
            await MedicationDose.get_pymongo_collection().insert_many([d.model_dump(by_alias=True) for d in doses], ordered=False)
        except BulkWriteError as exc:
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise
            failed = {err["index"] for err in exc.details["writeErrors"]}  # scheduled by a concurrent scan
            created = [d for i, d in enumerate(doses) if i not in failed]
    for dose in created:
        # No drug names leave the system: the template gets the schedule id only.
        await request_notification(recipient_id=str(prescription.patient_id), kind="medication_reminder",
                                   idempotency_key=reminder_key(prescription.id, dose.id), context={"schedule_id": str(prescription.id)},
                                   not_before=dose.scheduled_at)
    await Prescription.get_pymongo_collection().update_one(
        {"_id": prescription.id, "$or": [{"scheduled_until": None}, {"scheduled_until": {"$lt": until}}]}, {"$set": {"scheduled_until": until}}
    )
    prescription.scheduled_until = until
    return len(created)


async def _due_dose(patient: User, prescription_id: str | None, now: datetime) -> MedicationDose | None:
    missed_after = timedelta(minutes=get_settings().medication_missed_after_minutes)
    query: dict = {"patient_id": patient.id, "status": "pending", "scheduled_at": {"$gte": now - missed_after, "$lte": now + EARLY_TAKE}}
    if prescription_id:
        query["prescription_id"] = PydanticObjectId(prescription_id)
    candidates = await MedicationDose.find(query).to_list()
    return min(candidates, key=lambda d: abs(d.scheduled_at - now), default=None)


async def check_mark_taken(user_id: str, role: str, dose_id: str | None, prescription_id: str | None, via: str) -> MedicationDose:
    """The patient marks a dose taken: a given dose, or the one due now (of a prescription, or any)."""
    if role != Role.patient.value:
        raise forbidden("Only the patient marks their doses taken.")
    patient = await access_user(user_id, Role.patient)
    now = utcnow()
    if dose_id:
        dose = await MedicationDose.get(PydanticObjectId(dose_id))
        if dose is None or dose.patient_id != patient.id:
            raise not_found("Dose")
    else:
        dose = await _due_dose(patient, prescription_id, now)
        if dose is None:
            raise ApiError(409, "no_dose_due", "No dose is due now (doses can be marked from an hour before until two hours after their time).")
    return await do_mark_taken(patient, dose, via, now)


async def do_mark_taken(patient: User, dose: MedicationDose, via: str, now: datetime) -> MedicationDose:
    """Mark one dose taken (idempotent), cancel its pending reminder, clear a missed-doses alert."""
    if dose.status == "taken":
        return dose
    missed_after = timedelta(minutes=get_settings().medication_missed_after_minutes)
    if dose.status == "missed" or dose.scheduled_at + missed_after < now:
        raise ApiError(409, "dose_missed", "This dose was not marked within two hours and counts as missed.")
    if dose.scheduled_at - EARLY_TAKE > now:
        raise ApiError(409, "dose_not_due", "This dose is not due yet.")
    raw = await MedicationDose.get_pymongo_collection().find_one_and_update(
        {"_id": dose.id, "status": "pending"}, {"$set": {"status": "taken", "taken_at": now, "marked_via": via}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        current = await MedicationDose.get(dose.id)
        if current is not None and current.status == "taken":
            return current
        raise ApiError(409, "dose_missed", "This dose counts as missed.")
    taken = MedicationDose.model_validate(raw)
    await cancel_notifications(reminder_key(taken.prescription_id, taken.id))  # no reminder for a dose already taken
    await publish_to_users(DOSE, DoseEvent(dose=dose_out(taken)), [str(patient.id)])
    await do_clear_alert(patient, f"medication_missed:{taken.prescription_id}", None, now)
    return taken


async def do_scan_medication(now: datetime | None = None) -> dict[str, int]:
    """Schedule upcoming doses, mark overdue ones missed, and alert doctors about runs of misses."""
    now = now or utcnow()
    scheduled = 0
    async for prescription in Prescription.find(Prescription.active == True):  # noqa: E712
        if _ended(prescription, now):
            await Prescription.get_pymongo_collection().update_one({"_id": prescription.id}, {"$set": {"active": False}})
            continue
        scheduled += await do_schedule_doses(prescription, now)
    cutoff = now - timedelta(minutes=get_settings().medication_missed_after_minutes)
    overdue = await MedicationDose.find({"status": "pending", "scheduled_at": {"$lt": cutoff}}).to_list()
    touched: set[PydanticObjectId] = set()
    missed = 0
    for dose in overdue:
        raw = await MedicationDose.get_pymongo_collection().find_one_and_update(
            {"_id": dose.id, "status": "pending"}, {"$set": {"status": "missed", "missed_at": now}}, return_document=ReturnDocument.AFTER
        )
        if raw is None:
            continue
        missed += 1
        touched.add(dose.prescription_id)
        await publish_to_users(DOSE, DoseEvent(dose=dose_out(MedicationDose.model_validate(raw))), [str(dose.patient_id)])
    for prescription_id in touched:
        await _escalate_missed(prescription_id, now)
    return {"scheduled": scheduled, "missed": missed}


def _ended(prescription: Prescription, now: datetime) -> bool:
    """Past the last local day (and its last dose's marking window): nothing more to schedule or miss."""
    after_last_day = datetime.combine(date.fromisoformat(prescription.end_date) + timedelta(days=1), time(0), tzinfo=ZoneInfo(prescription.timezone))
    return after_last_day + timedelta(minutes=get_settings().medication_missed_after_minutes) < now


async def _escalate_missed(prescription_id: PydanticObjectId, now: datetime) -> None:
    prescription = await Prescription.get(prescription_id)
    if prescription is None:
        return
    doses = await MedicationDose.find({"prescription_id": prescription_id, "status": {"$in": ["taken", "missed"]}}).sort(
        -MedicationDose.scheduled_at).limit(prescription.missed_doses_alert).to_list()
    run = 0
    for dose in doses:
        if dose.status != "missed":
            break
        run += 1
    if run < prescription.missed_doses_alert:
        return
    patient = await access_user(str(prescription.patient_id), Role.patient)
    finding = Finding(f"medication_missed:{prescription_id}", "medication_missed", "warning",
                      f"{run} doses in a row of {prescription.drug} {prescription.dose} were missed.")
    await do_raise_alert(patient, finding, vital_type=None, reading=None,
                         values={"prescription_id": str(prescription_id), "consecutive_missed": run}, now=now)


async def check_list_prescriptions(user_id: str, role: str, patient_id: str) -> list[dict]:
    """The patient's prescriptions with their adherence (a doctor's read is audited)."""
    patient = await access_patient_data(user_id, role, patient_id)
    await record_health_data_access(user_id, role, patient_id, "medication.read", "prescriptions")
    out = []
    for p in await Prescription.find(Prescription.patient_id == patient.id).sort(-Prescription.created_at).to_list():
        doses = await MedicationDose.find(MedicationDose.prescription_id == p.id).to_list()
        out.append({"prescription": prescription_out(p).model_dump(mode="json"), "adherence": adherence(p, doses), "dispensed": await dispensings_of(p)})
    return out


async def dispensings_of(prescription: Prescription) -> list[dict]:
    """What pharmacies handed out against the prescription (the stock ledger's dispensed entries), newest first."""
    entries = await StockEntry.find({"prescription_id": prescription.id, "kind": "dispensed"}).sort(-StockEntry.at).to_list()
    return [DispensingOut(at=e.at, quantity=e.quantity, order_id=str(e.order_id) if e.order_id else None).model_dump(mode="json") for e in entries]


async def check_list_doses(user_id: str, role: str, prescription_id: str) -> tuple[Prescription, list[MedicationDose]]:
    prescription = await Prescription.get(PydanticObjectId(prescription_id))
    if prescription is None:
        raise not_found("Prescription")
    await access_patient_data(user_id, role, str(prescription.patient_id))
    await record_health_data_access(user_id, role, str(prescription.patient_id), "medication.read", f"prescription:{prescription_id}")
    doses = await MedicationDose.find(MedicationDose.prescription_id == prescription.id).sort(MedicationDose.scheduled_at).to_list()
    return prescription, doses


async def check_stop_prescription(user_id: str, role: str, prescription_id: str) -> Prescription:
    """A related doctor stops a prescription: future doses and their reminders are withdrawn."""
    if role != Role.doctor.value:
        raise forbidden("Only doctors stop prescriptions.")
    prescription = await Prescription.get(PydanticObjectId(prescription_id))
    if prescription is None:
        raise not_found("Prescription")
    await access_patient_data(user_id, role, str(prescription.patient_id))
    await record_health_data_access(user_id, role, str(prescription.patient_id), "medication.stop", f"prescription:{prescription_id}")
    await Prescription.get_pymongo_collection().update_one({"_id": prescription.id}, {"$set": {"active": False}})
    await MedicationDose.get_pymongo_collection().delete_many({"prescription_id": prescription.id, "status": "pending", "scheduled_at": {"$gt": utcnow()}})
    await cancel_notifications(reminder_key(prescription.id))
    prescription.active = False
    return prescription


async def take_dose_by_sms(user: User, text: str) -> str | None:
    """engage.actions.sms_replies' handler: "TAKEN" marks the dose due now; other replies are not ours."""
    if text.strip().strip(".!").upper() != "TAKEN" or user.role != Role.patient:
        return None
    try:
        dose = await check_mark_taken(str(user.id), user.role.value, None, None, "sms")
    except ApiError:
        return "There is no dose due right now to mark as taken."
    return f"Thank you: your {dose.local_time} dose is marked as taken."
