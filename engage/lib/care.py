"""Care relations: a doctor and a patient are related when they share a conversation or an
active appointment.

The raw "conversations" and "appointments" collections are read directly so this works
whether or not the chat and booking capabilities are installed.
"""

from __future__ import annotations

from beanie import PydanticObjectId
from bson import ObjectId

from engage import extensions
from engage.config import get_settings
from engage.errors import ApiError
from engage.errors import forbidden
from engage.lib.users import access_user
from engage.models.user import Role
from engage.models.user import User

# Cancelled and no-show appointments do not make a doctor someone's doctor.
ACTIVE_APPOINTMENT_STATUSES = ["booked", "confirmed", "completed"]


def _database():
    return extensions.mongo().get_default_database(default=get_settings().db_name)


async def is_care_related(doctor_id: str, patient_id: str) -> bool:
    """True when the doctor and patient share a conversation or an active appointment."""
    if not (ObjectId.is_valid(str(doctor_id)) and ObjectId.is_valid(str(patient_id))):
        return False
    pair = {"doctor_id": ObjectId(str(doctor_id)), "patient_id": ObjectId(str(patient_id))}
    db = _database()
    if await db["conversations"].find_one(pair, projection={"_id": 1}):
        return True
    return bool(await db["appointments"].find_one({**pair, "status": {"$in": ACTIVE_APPOINTMENT_STATUSES}}, projection={"_id": 1}))


async def care_doctor_ids(patient_id: str) -> list[str]:
    """Every doctor related to the patient, as id strings (sorted, no repeats)."""
    pid = ObjectId(str(patient_id))
    db = _database()
    ids: set[str] = set()
    for oid in await db["conversations"].distinct("doctor_id", {"patient_id": pid}):
        ids.add(str(oid))
    for oid in await db["appointments"].distinct("doctor_id", {"patient_id": pid, "status": {"$in": ACTIVE_APPOINTMENT_STATUSES}}):
        ids.add(str(oid))
    return sorted(ids)


async def access_patient_data(user_id: str, role: str, patient_id: str) -> User:
    """The patient whose health data the user may see: themselves, or a patient of a related doctor.

    Raises 404 for an unknown patient and 403 ("not_in_care") for anyone else.
    """
    if role == Role.patient.value:
        if str(user_id) != str(patient_id):
            raise forbidden("Patients can only see their own health data.")
        return await access_user(patient_id, Role.patient, what="Patient")
    if role != Role.doctor.value:
        raise forbidden("Only the patient and their doctors can see this health data.")
    patient = await access_user(patient_id, Role.patient, what="Patient")
    if not await is_care_related(user_id, patient_id):
        raise ApiError(403, "not_in_care", "You can only see the health data of patients in your care (a shared conversation or appointment).")
    return patient


def object_id(value: str) -> PydanticObjectId:
    return PydanticObjectId(str(value))
