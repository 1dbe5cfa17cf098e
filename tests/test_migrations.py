"""`python app.py migrate` (engage/migrations.py) and the version check of every process, each on a database of its own."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from bson import ObjectId

from engage.embedded import free_port
from engage.migrations import LATEST_VERSION
from engage.migrations import LEGACY_MIGRATIONS
from engage.migrations import LOCK_ID
from engage.migrations import MIGRATIONS
from engage.migrations import STEPS
from engage.migrations import pid_running
from engage.migrations import version_problem
from tests.servers import ROOT
from tests.servers import run_app
from tests.servers import start_engage

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ACCOUNTS_STEP = "accounts_verified_before_verification"


@pytest.fixture
async def database(db, engage_environment):
    """A database of its own on the suite's server, and the environment that points Engage at it."""
    name = f"engage_migrations_{uuid.uuid4().hex[:8]}"
    yield db[name], {**engage_environment, "ENGAGE_DB_NAME": name}
    await db.drop_database(name)


def old_account(**fields) -> dict:
    """A user as versions before email and phone verification stored it."""
    return {
        "email": f"old-{uuid.uuid4().hex[:8]}@example.org", "password_hash": "x", "name": "Old Patient", "role": "patient",
        "approved": True, "timezone": "UTC", "created_at": NOW, "phone": None, **fields,
    }


async def record_all_steps_done(database) -> None:
    await database[MIGRATIONS].insert_many(
        [{"_id": s.id, "version": s.version, "backward_compatible": False, "status": "done", "done_at": NOW} for s in STEPS]
    )


def a_dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert not pid_running(process.pid)
    return process.pid


def test_the_steps_have_consecutive_versions_and_distinct_ids():
    assert [s.version for s in STEPS] == list(range(1, len(STEPS) + 1))
    assert len({s.id for s in STEPS}) == len(STEPS)
    assert LATEST_VERSION == STEPS[-1].version


async def test_migrate_brings_data_of_earlier_versions_up_to_date_once(database):
    database, env = database
    users = database["users"]
    with_phone = (await users.insert_one(old_account(phone="+14155550123"))).inserted_id
    without_phone = (await users.insert_one(old_account())).inserted_id
    profile = (await database["doctor_profiles"].insert_one({
        "doctor_id": ObjectId(), "doctor_name": "Dr Old", "clinic_id": ObjectId(), "clinic_name": "Old Clinic", "timezone": "UTC",
        "specialties": ["Cardiology", "sports medicine"], "updated_at": NOW,
    })).inserted_id

    result = run_app(env, "migrate")

    assert result.returncode == 0, result.stderr
    for step in STEPS:
        assert f"{step.version} {step.id}: done" in result.stdout
    assert f"the database is at migration version {LATEST_VERSION}" in result.stdout
    old = await users.find_one({"_id": with_phone})
    assert (old["email_verified"], old["phone_verified"], old["active"]) == (True, True, True)
    old = await users.find_one({"_id": without_phone})
    assert (old["email_verified"], old["phone_verified"], old["active"]) == (True, False, True)
    assert (await database["doctor_profiles"].find_one({"_id": profile}))["specialties"] == ["cardiology", "sports medicine"]
    records = {r["_id"]: r async for r in database[MIGRATIONS].find({"version": {"$exists": True}})}
    assert {i: (r["version"], r["status"]) for i, r in records.items()} == {s.id: (s.version, "done") for s in STEPS}

    # A second run finds every step done and rewrites nothing.
    await users.update_one({"_id": with_phone}, {"$unset": {"email_verified": ""}})
    again = run_app(env, "migrate")
    assert again.returncode == 0, again.stderr
    assert f"nothing to do: the database is at migration version {LATEST_VERSION}" in again.stdout
    assert "email_verified" not in await users.find_one({"_id": with_phone})


async def test_steps_an_earlier_version_ran_at_web_start_are_recorded_without_running_again(database):
    database, env = database
    untouched = (await database["users"].insert_one(old_account())).inserted_id
    await database[LEGACY_MIGRATIONS].insert_many([{"_id": "doctor_specialty_slugs"}, {"_id": ACCOUNTS_STEP}])

    result = run_app(env, "migrate")

    assert result.returncode == 0, result.stderr
    assert f"{ACCOUNTS_STEP}: done by an earlier version at web start; recorded" in result.stdout
    assert "email_verified" not in await database["users"].find_one({"_id": untouched})
    assert (await database[MIGRATIONS].find_one({"_id": ACCOUNTS_STEP}))["status"] == "done"


async def test_a_step_cut_off_halfway_by_a_crashed_migrator_is_finished_by_the_next_run(database):
    """The crashed migrator's lock lease has an hour to run: its pid is gone, so the next run on this host takes over at once."""
    database, env = database
    users = database["users"]
    done_before = (await users.insert_one(old_account(email_verified=True, phone_verified=False, active=True))).inserted_id
    left = [(await users.insert_one(old_account())).inserted_id for _ in range(3)]
    await record_all_steps_done(database)
    dead, host = a_dead_pid(), socket.gethostname()
    await database[MIGRATIONS].update_one(
        {"_id": ACCOUNTS_STEP}, {"$set": {"status": "started", "started_at": NOW, "host": host, "pid": dead, "attempts": 1}}
    )
    await database[MIGRATIONS].insert_one(
        {"_id": LOCK_ID, "owner": f"{host}:{dead}:crashed", "host": host, "pid": dead, "expires_at": datetime.now(UTC) + timedelta(hours=1)}
    )

    result = run_app(env, "migrate")

    assert result.returncode == 0, result.stderr
    assert f"took over the lock of migrator {host}:{dead}" in result.stdout
    assert f"{ACCOUNTS_STEP}: started by {host}:{dead}" in result.stdout and "running it again" in result.stdout
    for user_id in [done_before, *left]:
        user = await users.find_one({"_id": user_id})
        assert (user["email_verified"], user["phone_verified"], user["active"]) == (True, False, True)
    record = await database[MIGRATIONS].find_one({"_id": ACCOUNTS_STEP})
    assert (record["status"], record["attempts"]) == ("done", 2)
    assert await database[MIGRATIONS].find_one({"_id": LOCK_ID}) is None


async def test_a_migrator_waits_for_the_lock_of_another_until_its_lease_runs_out(database):
    database, env = database
    user = (await database["users"].insert_one(old_account())).inserted_id
    await database[MIGRATIONS].insert_one(
        {"_id": LOCK_ID, "owner": "elsewhere:4242:x", "host": "elsewhere", "pid": 4242, "expires_at": datetime.now(UTC) + timedelta(hours=1)}
    )
    migrator = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "migrate"], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert migrator.stdout is not None
        first = await asyncio.to_thread(migrator.stdout.readline)
        assert first.startswith("waiting for the migrator elsewhere:4242"), first
        assert "email_verified" not in await database["users"].find_one({"_id": user})

        # The other migrator's lease runs out (it crashed on its host, and stopped renewing).
        await database[MIGRATIONS].update_one({"_id": LOCK_ID}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}})
        rest, _ = await asyncio.to_thread(migrator.communicate, timeout=90)
    finally:
        migrator.kill()
        migrator.wait()

    assert migrator.returncode == 0, rest
    assert f"the database is at migration version {LATEST_VERSION}" in rest
    assert (await database["users"].find_one({"_id": user}))["email_verified"] is True


async def test_processes_refuse_a_database_newer_than_they_know(database):
    database, env = database
    await database["users"].insert_one(old_account())
    await record_all_steps_done(database)
    await database[MIGRATIONS].insert_one({"_id": "from_the_future", "version": LATEST_VERSION + 1, "status": "done", "backward_compatible": False})

    for args in (("web",), ("worker",), ("migrate",)):
        result = run_app({**env, "PORT": str(free_port())}, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert f"at migration version {LATEST_VERSION + 1}, newer than this code knows ({LATEST_VERSION}" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


async def test_a_newer_step_marked_backward_compatible_does_not_stop_older_code(database):
    database, env = database
    await database["users"].insert_one(old_account())
    await record_all_steps_done(database)
    await database[MIGRATIONS].insert_one({"_id": "from_the_future", "version": LATEST_VERSION + 1, "status": "done", "backward_compatible": True})

    result = run_app(env, "migrate")

    assert result.returncode == 0, result.stderr
    assert "steps this code does not know, all backward compatible" in result.stdout


async def test_processes_refuse_a_database_older_than_they_need(database):
    """An install of the version that migrated at web start: data, and no record in "migrations"."""
    database, env = database
    await database["users"].insert_one(old_account())
    await database[LEGACY_MIGRATIONS].insert_one({"_id": "doctor_specialty_slugs"})

    for args in (("web",), ("worker",)):
        result = run_app({**env, "PORT": str(free_port())}, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert f"at migration version 0, older than this code needs ({LATEST_VERSION}): run `python app.py migrate` first" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert await database[MIGRATIONS].count_documents({}) == 0  # refusing wrote nothing


async def test_a_web_process_on_a_new_database_starts_and_records_it_at_its_version(database, tmp_root):
    database, env = database
    web = start_engage("web", env, tmp_root)
    try:
        records = {r["_id"]: r async for r in database[MIGRATIONS].find({"version": {"$exists": True}})}
        assert {i: (r["status"], r["how"]) for i, r in records.items()} == {s.id: ("done", "new database") for s in STEPS}
    finally:
        web.stop()
    # ... so the next process, on a database that now holds data, starts too.
    result = run_app(env, "migrate")
    assert result.returncode == 0 and "nothing to do" in result.stdout, result.stderr


async def test_a_process_that_finds_a_new_database_half_recorded_by_another_starts_and_finishes_the_record(database):
    """Workers starting together on a new database: one has recorded the first step as a new
    database's when the next reads the record. That one must start too (it refused: version 1,
    older than this code needs), and leave every step recorded."""
    database, _ = database
    first = STEPS[0]
    await database[MIGRATIONS].insert_one(
        {"_id": first.id, "version": first.version, "status": "done", "done_at": datetime.now(UTC), "how": "new database"}
    )

    assert await version_problem(database) is None
    records = {r["_id"]: r async for r in database[MIGRATIONS].find({"version": {"$exists": True}})}
    assert {i: (r["status"], r["how"]) for i, r in records.items()} == {s.id: ("done", "new database") for s in STEPS}


async def test_the_main_command_stops_when_migrate_fails(database, tmp_path):
    database, env = database
    await record_all_steps_done(database)
    await database[MIGRATIONS].insert_one({"_id": "from_the_future", "version": LATEST_VERSION + 1, "status": "done"})

    result = run_app({**env, "PORT": str(free_port()), "ENGAGE_DATA_DIR": str(tmp_path)})

    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "newer than this code knows" in result.stderr
    assert "`python app.py migrate` failed (exit 2); not starting" in result.stderr
    assert "Engage is running" not in result.stdout
