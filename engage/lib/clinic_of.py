"""Which clinic a user belongs to, for showing that clinic's logo and colour."""

from __future__ import annotations

from beanie import PydanticObjectId

from engage.lib.care import care_doctor_ids
from engage.models.appointment import Appointment
from engage.models.clinic import DoctorProfile
from engage.models.user import Role
from engage.models.user import User

# Appointments that tie a patient to a clinic: upcoming, under way or held, not cancelled.
TYING_STATUSES = ["booked", "confirmed", "checked_in", "completed"]


async def patient_clinic_id(patient_id: PydanticObjectId) -> PydanticObjectId | None:
    """The clinic of the patient's latest appointment (by start, upcoming ones first), else of a
    care-team doctor: where the patient is being seen, as the assistant also reckons it."""
    appointment = await Appointment.find({"patient_id": patient_id, "status": {"$in": TYING_STATUSES}}).sort("-start").first_or_none()
    if appointment is not None:
        return appointment.clinic_id
    doctors = await care_doctor_ids(str(patient_id))
    profile = await DoctorProfile.find_one({"doctor_id": {"$in": [PydanticObjectId(d) for d in doctors]}}) if doctors else None
    return profile.clinic_id if profile else None


async def clinic_id_of(user: User) -> PydanticObjectId | None:
    """Staff: the clinic they work for; a doctor: the clinic of their profile; a patient: see above."""
    if user.clinic_id is not None:
        return user.clinic_id
    if user.role == Role.doctor:
        profile = await DoctorProfile.find_one({"doctor_id": user.id})
        return profile.clinic_id if profile else None
    if user.role == Role.patient:
        return await patient_clinic_id(user.id)
    return None
