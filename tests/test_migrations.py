"""Data of earlier versions brought up to date before a web process serves (engage.migrations)."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime

from bson import ObjectId

from engage.migrations import STEPS
from engage.migrations import run_pending_migrations
from engage.models.clinic import DoctorProfile
from engage.models.user import User


async def test_accounts_and_profiles_of_earlier_versions_are_brought_up_to_date_once(api, make_patient, db):
    users = User.get_pymongo_collection()
    now = datetime.now(UTC)
    legacy = {"password_hash": "x", "name": "Old Patient", "role": "patient", "approved": True, "timezone": "UTC", "created_at": now}
    with_phone = (await users.insert_one({**legacy, "email": f"old-{uuid.uuid4().hex[:8]}@example.org", "phone": "+14155550123"})).inserted_id
    without_phone = (await users.insert_one({**legacy, "email": f"old-{uuid.uuid4().hex[:8]}@example.org", "phone": None})).inserted_id
    fresh = await make_patient()  # registered by this version: unverified until proven
    profile = (await DoctorProfile.get_pymongo_collection().insert_one({
        "doctor_id": ObjectId(), "doctor_name": "Dr Old", "clinic_id": ObjectId(), "clinic_name": "Old Clinic", "timezone": "UTC",
        "specialties": ["Cardiology", "sports medicine"], "updated_at": now,
    })).inserted_id
    done = users.database["schema_migrations"]
    await done.delete_many({"_id": {"$in": [step_id for step_id, _ in STEPS]}})

    await run_pending_migrations()

    old = await users.find_one({"_id": with_phone})
    assert (old["email_verified"], old["phone_verified"], old["active"]) == (True, True, True)
    old = await users.find_one({"_id": without_phone})
    assert (old["email_verified"], old["phone_verified"], old["active"]) == (True, False, True)
    assert (await users.find_one({"_id": ObjectId(fresh.id)}))["email_verified"] is False
    assert (await DoctorProfile.get_pymongo_collection().find_one({"_id": profile}))["specialties"] == ["cardiology", "sports medicine"]
    assert {d["_id"] for d in await done.find({}).to_list()} >= {step_id for step_id, _ in STEPS}

    # remembered: a second run (another web process starting) rewrites nothing
    await users.update_one({"_id": with_phone}, {"$unset": {"email_verified": ""}})
    await run_pending_migrations()
    assert "email_verified" not in await users.find_one({"_id": with_phone})
