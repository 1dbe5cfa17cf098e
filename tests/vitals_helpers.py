"""Helpers for the vitals tests: care relations, readings, and event validation."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from bson import ObjectId

from engage import extensions
from tests.servers import engage_env  # noqa: F401  (re-exported for tests that start their own processes)


def raw_db():
    return extensions.mongo().get_default_database(default="engage_test")


async def relate(doctor_id: str, patient_id: str, via: str = "conversation", status: str = "booked") -> None:
    """Create a care relation the way the chat or booking capability would: raw documents."""
    pair = {"doctor_id": ObjectId(doctor_id), "patient_id": ObjectId(patient_id)}
    if via == "conversation":
        # The patient opened the conversation: that is what makes the doctor part of their care team.
        await raw_db()["conversations"].insert_one({**pair, "last_message_at": None, "created_at": datetime.now(UTC)})
        await raw_db()["care_relations"].insert_one({**pair, "source": "conversation", "since": datetime.now(UTC), "until": None, "ended_at": None})
    else:
        start = datetime.now(UTC) + timedelta(days=2)
        await raw_db()["appointments"].insert_one({**pair, "clinic_id": ObjectId(), "start": start, "end": start + timedelta(minutes=30), "status": status,
                                                  "token": f"vitals-{ObjectId()}"})  # booking's unique token index


def ago(**delta) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def bp(systolic: float, diastolic: float, **extra) -> dict:
    return {"type": "blood_pressure", "systolic": systolic, "diastolic": diastolic, "taken_at": extra.pop("taken_at", ago(seconds=5)), **extra}


def vital(vital_type: str, value: float, **extra) -> dict:
    return {"type": vital_type, "value": value, "taken_at": extra.pop("taken_at", ago(seconds=5)), **extra}
