"""Migrating doctors' free-text specialties to the catalogue's slugs.

An idempotent step of engage.migrations (run once by `python app.py migrate`): profiles written before the catalogue hold names like "general practice" or
"Family medicine"; each one that means a catalogue specialty becomes its slug, the rest stay.
"""

from __future__ import annotations

from pymongo import UpdateOne

from engage.assistant.specialties import slug_specialties
from engage.models.base import utcnow
from engage.models.clinic import DoctorProfile


async def do_migrate_doctor_specialties() -> int:
    """Rewrite every profile's specialties to slugs where they match; returns how many changed."""
    collection = DoctorProfile.get_pymongo_collection()
    updates = []
    async for raw in collection.find({}, {"specialties": 1}):
        current = raw.get("specialties") or []
        migrated = slug_specialties(current)
        if migrated != current:
            # Only if unchanged meanwhile: a profile edited since is already written in slugs.
            updates.append(UpdateOne({"_id": raw["_id"], "specialties": current}, {"$set": {"specialties": migrated, "updated_at": utcnow()}}))
    if not updates:
        return 0
    result = await collection.bulk_write(updates, ordered=False)
    return result.modified_count
