"""Stored data brought up to what this version reads: `python app.py migrate`, and the version check.

Each step of STEPS has an integer version (1, 2, 3, ... in order) and a stable id; neither changes
once released. `migrate` runs, in order, each step not yet recorded as done in the "migrations"
collection, one migrator at a time, and prints what it did. No process changes data as a side
effect of starting: web processes, workers and the scheduler only check the version
(`version_problem`) and refuse to start (exit 2) when the database is older than they need or
newer than they know.

Adding a step is one line at the end of STEPS, e.g.
    Step(4, "chat_messages_one_document_each", move_messages_to_one_document_each),
where the function is `async def ...() -> int | None` (documents changed, or None) and may assume
Beanie is initialised on the database but that its indexes may not exist yet (web processes
create them at start). A step must be safe to run again after a crash at any point: it rewrites
only what is still in the old shape. When a step's code goes away, keep its line with a function
that does nothing. Mark it backward_compatible only if the previous version's processes may keep
running while it runs (below); otherwise the README's rolling upgrade stops them first.

Versions and rolling upgrades: a step is `backward_compatible` when it only adds (a field with a
default, a copy, an index), so that the previous version's code runs on the data after it and
this code runs on the data before it. A process refuses a database on which a step it knows is
not done unless that step is backward compatible (so the version it needs is that of its newest
step not marked backward compatible: its latest, unless marked), and a database on which a step it does not
know was run, unless the record says it is backward compatible (each record keeps that flag so
older code can read it).

Crashes and concurrency: each step's record is marked "started" with the host and pid before it
runs and "done" after, so an interrupted step shows, and the next `migrate` runs it again. A
lock document with a lease (renewed while a migrator runs) keeps two migrators from running at
once; a crashed migrator's lock is taken over when its lease ends, or at once from the same host
when its pid no longer runs.

Earlier versions ran the steps at web start and remembered them in "schema_migrations": a step
whose id is remembered there is recorded as done without running again.

A brand-new database (no document in any collection) has nothing of an older shape: the first
process to see it (`migrate`, or a web process, worker or scheduler started without it) records
every step as done without running it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from typing import TextIO

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from pymongo.errors import PyMongoError

from engage import extensions
from engage.actions.assistant_specialties import do_migrate_doctor_specialties
from engage.config import Settings
from engage.lib.message_layout import move_messages_to_one_document_each
from engage.lib.message_layout import prepare_chat_storage
from engage.models.base import utcnow
from engage.models.user import User

MIGRATIONS = "migrations"
LEGACY_MIGRATIONS = "schema_migrations"  # earlier versions' record of the steps run at web start
LOCK_ID = "lock"  # the lock document, beside the step records (which are keyed by step id)
LEASE_SECONDS = 60.0
LOCK_POLL_SECONDS = 1.0
MIGRATE_COMMAND = "python app.py migrate"

# Exit codes of `migrate` and of a process that refuses to start.
OK = 0
FAILED = 1
VERSION_MISMATCH = 2


@dataclass(frozen=True)
class Step:
    """One versioned change of stored data."""

    version: int
    id: str
    run: Callable[[], Awaitable[int | None]]  # returns how many documents it changed, or None
    backward_compatible: bool = False  # see the module docstring


async def prepare_chat_storage_layouts() -> None:
    """The chat storage moves earlier versions ran at web start (engage/lib/message_layout.py)."""
    await prepare_chat_storage()


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


# In order of version; a released step's version and id never change (see the module docstring).
STEPS: list[Step] = [
    Step(1, "chat_storage_layouts", prepare_chat_storage_layouts),
    Step(2, "doctor_specialty_slugs", do_migrate_doctor_specialties),
    Step(3, "accounts_verified_before_verification", mark_earlier_accounts_verified),
    Step(4, "chat_messages_one_document_each", move_messages_to_one_document_each),
]
LATEST_VERSION = max(step.version for step in STEPS)


NEW_DATABASE = "new database"  # how record_new_database marks the steps it records


@dataclass
class SchemaState:
    """What the "migrations" collection says, read against STEPS."""

    records: dict[str, dict[str, Any]]  # step id -> its record

    def done(self, step: Step) -> bool:
        return self.records.get(step.id, {}).get("status") == "done"

    @property
    def at_most_recorded_as_new(self) -> bool:
        """No step recorded, or only by record_new_database: possibly another process recording a
        new database at this moment, one step at a time (several starting together on it)."""
        return all(r.get("how") == NEW_DATABASE for r in self.records.values())

    @property
    def unknown(self) -> list[dict[str, Any]]:
        """Records of steps this code does not know (a newer version's), started or done."""
        known = {step.id for step in STEPS}
        return [r for r in self.records.values() if r["_id"] not in known or r.get("version", 0) > LATEST_VERSION]

    @property
    def version(self) -> int:
        """The newest version recorded if newer than this code; else the last of the done prefix."""
        if self.unknown:
            return max(r.get("version", 0) for r in self.unknown)
        version = 0
        for step in STEPS:
            if not self.done(step):
                break
            version = step.version
        return version

    def problem(self) -> str | None:
        """Why this code cannot run on the database, or None."""
        newer = [r for r in self.unknown if not r.get("backward_compatible")]
        if newer:
            names = ", ".join(f"{r.get('version', '?')} {r['_id']}" for r in sorted(newer, key=lambda r: r.get("version", 0)))
            return (
                f"the database is at migration version {self.version}, newer than this code knows ({LATEST_VERSION}; "
                f"unknown steps: {names}): run the release that migrated it"
            )
        needed = [step for step in STEPS if not self.done(step) and not step.backward_compatible]
        if needed:
            return (
                f"the database is at migration version {self.version}, older than this code needs ({needed[-1].version}): "
                f"run `{MIGRATE_COMMAND}` first"
            )
        return None


async def read_state(database: AsyncDatabase) -> SchemaState:
    records = await database[MIGRATIONS].find({"version": {"$exists": True}}).to_list()
    return SchemaState({r["_id"]: r for r in records})


async def is_new_database(database: AsyncDatabase) -> bool:
    """No document in any collection (indexes alone do not count) and no step recorded but by
    record_new_database: nothing of an older shape."""
    for name in await database.list_collection_names():
        if name.startswith("system.") or name == MIGRATIONS:
            continue
        if await database[name].find_one({}, {"_id": 1}) is not None:
            return False
    return not await database[MIGRATIONS].find_one({"version": {"$exists": True}, "how": {"$ne": NEW_DATABASE}})


async def record_new_database(database: AsyncDatabase) -> None:
    """Every step recorded as done on a database that holds nothing to migrate."""
    now = utcnow()
    for step in STEPS:
        await database[MIGRATIONS].update_one(
            {"_id": step.id},
            {"$setOnInsert": {**_step_fields(step), "status": "done", "done_at": now, "how": NEW_DATABASE}},
            upsert=True,
        )


async def version_problem(database: AsyncDatabase) -> str | None:
    """The start-up check of every process: why it must not run on this database, or None."""
    state = await read_state(database)
    problem = state.problem()
    # A database that is only new is recorded, not refused, even half recorded by another process.
    if problem and state.at_most_recorded_as_new and await is_new_database(database):
        await record_new_database(database)
        return None
    return problem


async def check_version(settings: Settings) -> str | None:
    """version_problem() on the configured database, connecting just for it; None if unreachable
    (the process then starts as it would have, and reports the database as down)."""
    try:
        client = await extensions.init_database(settings, create_indexes=False)
        try:
            return await version_problem(client.get_default_database(default=settings.db_name))
        finally:
            await extensions.close_database()
    except PyMongoError as exc:
        print(f"engage: could not check the database's migration version ({exc}); starting anyway", file=sys.stderr)
        return None


class MigrationLock:
    """One migrator at a time: a document with an owner and a lease the owner keeps renewing."""

    def __init__(self, database: AsyncDatabase, out: TextIO, lease_seconds: float = LEASE_SECONDS) -> None:
        self.collection = database[MIGRATIONS]
        self.out = out
        self.lease = lease_seconds
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.owner = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.lost = asyncio.Event()
        self._renewer: asyncio.Task | None = None

    async def acquire(self) -> None:
        told = False
        while True:
            if await self._take({"$or": [{"expires_at": {"$lte": utcnow()}}, {"owner": self.owner}]}):
                break
            holder = await self.collection.find_one({"_id": LOCK_ID})
            if holder is None:
                continue  # released meanwhile
            if holder.get("host") == self.host and not pid_running(holder.get("pid", 0)):
                # Crashed on this host: no need to wait for its lease.
                if await self._take({"owner": holder["owner"]}):
                    print(f"took over the lock of migrator {self.host}:{holder.get('pid')}, which is no longer running", file=self.out)
                    break
                continue
            if not told:
                print(
                    f"waiting for the migrator {holder.get('host')}:{holder.get('pid')} holding the lock "
                    f"(its lease ends at {holder.get('expires_at')} unless renewed)",
                    file=self.out, flush=True,
                )
                told = True
            await asyncio.sleep(LOCK_POLL_SECONDS)
        self._renewer = asyncio.create_task(self._renew())

    async def _take(self, condition: dict[str, Any]) -> bool:
        fields = {"owner": self.owner, "host": self.host, "pid": self.pid, "taken_at": utcnow(), "expires_at": self._expiry()}
        try:
            await self.collection.update_one({"_id": LOCK_ID, **condition}, {"$set": fields}, upsert=True)
            return True
        except DuplicateKeyError:  # held: the upsert's insert collides with the holder's document
            return False

    def _expiry(self):
        return utcnow() + timedelta(seconds=self.lease)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                result = await self.collection.update_one({"_id": LOCK_ID, "owner": self.owner}, {"$set": {"expires_at": self._expiry()}})
            except PyMongoError:
                continue  # the database is restarting: the step fails too, or the next renewal works
            if result.matched_count == 0:
                self.lost.set()
                return

    async def release(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
        try:
            await self.collection.delete_one({"_id": LOCK_ID, "owner": self.owner})
        except PyMongoError:
            pass  # the database went away: the lease runs out instead


def pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _step_fields(step: Step) -> dict[str, Any]:
    return {"version": step.version, "backward_compatible": step.backward_compatible}


async def migrate(database: AsyncDatabase, out: TextIO = sys.stdout, lease_seconds: float = LEASE_SECONDS) -> int:
    """Run the pending steps on a database Beanie is initialised on; returns the exit code."""
    state = await read_state(database)
    if state.unknown:
        problem = state.problem()
        if problem:
            print(f"engage: {problem}", file=sys.stderr)
            return VERSION_MISMATCH
        names = ", ".join(f"{r.get('version', '?')} {r['_id']}" for r in state.unknown)
        print(f"the database also has steps this code does not know, all backward compatible: {names}", file=out)
    if all(state.done(step) for step in STEPS):
        print(f"nothing to do: the database is at migration version {state.version}", file=out)
        return OK
    lock = MigrationLock(database, out, lease_seconds)
    await lock.acquire()
    try:
        state = await read_state(database)  # another migrator may have run while this one waited
        if all(state.done(step) for step in STEPS):
            print(f"nothing left to do: the database is at migration version {state.version}", file=out)
            return OK
        if state.at_most_recorded_as_new and await is_new_database(database):
            await record_new_database(database)
            print(f"a new database: recorded at migration version {LATEST_VERSION} (nothing to migrate)", file=out)
            return OK
        print(f"migrating the database from version {state.version} to {LATEST_VERSION}", file=out, flush=True)
        for step in STEPS:
            if not await _run_step(database, step, out):
                continue
            if lock.lost.is_set():
                print(f"engage: this migrator's lock lease ran out after step {step.version}; stopping (run it again)", file=sys.stderr)
                return FAILED
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        print(f"engage: migration failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return FAILED
    finally:
        await lock.release()
    print(f"done: the database is at migration version {(await read_state(database)).version}", file=out)
    return OK


async def _run_step(database: AsyncDatabase, step: Step, out: TextIO) -> bool:
    """Run one step unless done; returns whether it ran. Raises what the step raised."""
    records, name = database[MIGRATIONS], f"{step.version} {step.id}"
    record = await records.find_one({"_id": step.id}) or {}
    if record.get("status") == "done":
        return False
    if await database[LEGACY_MIGRATIONS].find_one({"_id": step.id}):
        await records.update_one(
            {"_id": step.id},
            {"$set": {**_step_fields(step), "status": "done", "done_at": utcnow(), "how": f"remembered in {LEGACY_MIGRATIONS}"}},
            upsert=True,
        )
        print(f"  {name}: done by an earlier version at web start; recorded", file=out, flush=True)
        return True
    if record.get("status") == "started":
        print(f"  {name}: started by {record.get('host')}:{record.get('pid')} at {record.get('started_at')} and not finished; running it again", file=out)
    host, pid = socket.gethostname(), os.getpid()
    await records.update_one(
        {"_id": step.id},
        {"$set": {**_step_fields(step), "status": "started", "started_at": utcnow(), "host": host, "pid": pid}, "$inc": {"attempts": 1}},
        upsert=True,
    )
    print(f"  {name}: running", file=out, flush=True)
    began = time.monotonic()
    try:
        changed = await step.run()
    except Exception as exc:
        await records.update_one({"_id": step.id}, {"$set": {"failed_at": utcnow(), "error": f"{type(exc).__name__}: {exc}"}})
        raise
    seconds = round(time.monotonic() - began, 3)
    await records.update_one(
        {"_id": step.id}, {"$set": {"status": "done", "done_at": utcnow(), "changed": changed, "seconds": seconds}, "$unset": {"error": ""}}
    )
    counted = "" if changed is None else f", {changed} documents changed"
    print(f"  {name}: done ({seconds:g} s{counted})", file=out, flush=True)
    return True


async def run_migrate_command(settings: Settings, out: TextIO = sys.stdout) -> int:
    """`python app.py migrate`: connect, migrate, disconnect; returns the exit code."""
    try:
        client = await extensions.init_database(settings, create_indexes=False)
        try:
            return await migrate(client.get_default_database(default=settings.db_name), out)
        finally:
            await extensions.close_database()
    except PyMongoError as exc:  # outside the steps (they report their own): the database is not answering
        print(f"engage: migrate: the database does not answer ({exc})", file=sys.stderr)
        return FAILED
