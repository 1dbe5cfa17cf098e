"""Data written by earlier versions, brought up to what this version reads.

Each step is idempotent and remembered in "schema_migrations" once done; a web process runs the
pending ones before it serves (as the chat storage moves always have), so an upgraded install
keeps working without a manual step. Several processes may run a step at once: each only
rewrites what is still in the old shape.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from collections.abc import Callable

from pymongo.errors import DuplicateKeyError

from engage.actions.assistant_specialties import do_migrate_doctor_specialties
from engage.lib.message_layout import prepare_chat_storage
from engage.models.base import utcnow
from engage.models.user import User

log = logging.getLogger(__name__)


async def mark_earlier_accounts_verified() -> int:
    """Accounts from before email and phone verification keep the addresses they used: verified,
    and active. Without this they would stop getting every email and SMS but account mail."""
    users = User.get_pymongo_collection()
    changed = 0
    for filters, fields in (
        ({"email_verified": {"$exists": False}}, {"email_verified": True}),
        ({"phone_verified": {"$exists": False}, "phone": {"$ne": None}}, {"phone_verified": True}),
        ({"phone_verified": {"$exists": False}}, {"phone_verified": False}),
        ({"active": {"$exists": False}}, {"active": True}),
    ):
        changed += (await users.update_many(filters, {"$set": fields})).modified_count
    return changed


# (id, step): in order; an id never changes once released.
STEPS: list[tuple[str, Callable[[], Awaitable[int]]]] = [
    ("doctor_specialty_slugs", do_migrate_doctor_specialties),
    ("accounts_verified_before_verification", mark_earlier_accounts_verified),
]


async def run_pending_migrations() -> None:
    """Bring the database up to this version: chat storage first, then each step not yet done."""
    await prepare_chat_storage()
    done = User.get_pymongo_collection().database["schema_migrations"]
    for step_id, step in STEPS:
        if await done.find_one({"_id": step_id}):
            continue
        changed = await step()
        try:
            await done.insert_one({"_id": step_id, "done_at": utcnow(), "changed": changed})
        except DuplicateKeyError:
            pass  # another process finished it too
        log.info("migration %s done (%d documents changed)", step_id, changed)
