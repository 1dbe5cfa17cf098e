"""A randomized concurrent run of books, cancels and reschedules leaves no overlap in the database."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict

from bson import ObjectId

from engage.models.appointment import Appointment
from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import make_patients
from tests.booking_support import make_scheduled_doctor

WEEKLY = [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(7)]


def overlaps(intervals: list[tuple]) -> list[tuple]:
    ordered = sorted(intervals)
    return [(a, b) for a, b in zip(ordered, ordered[1:]) if b[0] < a[1]]


async def test_random_concurrent_books_cancels_reschedules_never_overlap(api, admin, make_doctor, make_patient, db):
    rng = random.Random(5)
    # Different slot lengths make cross-doctor overlaps for a patient possible (30 vs 45 vs 60 minutes).
    doctors = [await make_scheduled_doctor(api, admin, make_doctor, weekly=WEEKLY, slot_minutes=m) for m in (30, 45, 60)]
    patients = await make_patients(make_patient, 12)
    day = future_day(4)
    slots: dict[str, list[str]] = {}
    for doctor, _ in doctors:
        resp = await api.get(f"/api/doctors/{doctor.id}/slots", params={"from": str(day), "to": str(day)}, token=patients[0].access_token)
        slots[doctor.id] = [s["start"] for s in resp.body["slots"]]
    owned: dict[str, list[str]] = defaultdict(list)  # patient id -> appointment ids (possibly stale)
    statuses: list[int] = []

    async def operation(step: int) -> None:
        patient = rng.choice(patients)
        choice = rng.random()
        if choice < 0.55 or not owned[patient.id]:
            doctor, _ = rng.choice(doctors)
            resp = await book(api, patient, doctor.id, rng.choice(slots[doctor.id]))
            if resp.status == 201:
                owned[patient.id].append(resp.body["appointment"]["id"])
            assert resp.status == 201 or resp.error_code in ("slot_taken", "patient_overlap"), resp.body
        elif choice < 0.75:
            appointment_id = rng.choice(owned[patient.id])
            resp = await api.post(f"/api/appointments/{appointment_id}/cancel", {}, token=patient.access_token)
            assert resp.status == 200, resp.body
        else:
            appointment_id = rng.choice(owned[patient.id])
            stored = await Appointment.get(appointment_id)
            new_start = rng.choice(slots[str(stored.doctor_id)])
            resp = await api.post(f"/api/appointments/{appointment_id}/reschedule", {"start": new_start}, token=patient.access_token)
            assert resp.status == 200 or resp.error_code in ("slot_taken", "patient_overlap", "appointment_not_active", "appointment_changed"), resp.body
        statuses.append(resp.status)

    for wave in range(6):
        await asyncio.gather(*[operation(wave * 40 + i) for i in range(40)])

    assert 500 not in statuses and statuses.count(201) >= 20 and statuses.count(409) >= 10
    active = await Appointment.find(
        {"doctor_id": {"$in": [ObjectId(d.id) for d, _ in doctors]}, "status": {"$in": ["booked", "confirmed"]}}
    ).to_list()
    by_doctor: dict[str, list[tuple]] = defaultdict(list)
    by_patient: dict[str, list[tuple]] = defaultdict(list)
    for appointment in active:
        assert appointment.holds_slot is True
        by_doctor[str(appointment.doctor_id)].append((appointment.start, appointment.end, str(appointment.id)))
        by_patient[str(appointment.patient_id)].append((appointment.start, appointment.end, str(appointment.id)))
    assert active, "the run left no active appointment to check"
    for intervals in list(by_doctor.values()) + list(by_patient.values()):
        assert overlaps(intervals) == []
    # Nothing cancelled still claims its slot.
    assert await Appointment.find({"status": "cancelled", "holds_slot": True}).count() == 0
