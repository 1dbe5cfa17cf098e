"""`python -m engage.demo` (run by `python app.py --demo`): seeds through the API, prints logins, runs twice safely."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from tests.conftest import login
from tests.servers import ROOT


def run_demo(env: dict, url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engage.demo", "--url", url], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)


async def test_demo_seeds_a_living_clinic_and_prints_logins(api, engage_environment, web, db):
    result = await asyncio.to_thread(run_demo, engage_environment, web.url)
    assert result.returncode == 0, result.stderr + result.stdout
    notes = [line for line in result.stdout.splitlines() if "note:" in line]
    assert notes == [], result.stdout
    assert f"{web.url}/console   amara.okafor@demo.engage / engage-demo-2026" in result.stdout
    assert "sam.patel@demo.engage / engage-demo-2026" in result.stdout

    sam = await login(api, "sam.patel@demo.engage", "engage-demo-2026")
    doctor = await login(api, "amara.okafor@demo.engage", "engage-demo-2026")
    conversations = (await api.get("/api/conversations", token=doctor.access_token)).body["conversations"]
    assert [c["other_party"]["name"] for c in conversations] == ["Sam Patel"]
    assert conversations[0]["last_message"]["body"] == "Will do. Should I change anything before our appointment?"
    appointments = (await api.get("/api/appointments", token=sam.access_token)).body["appointments"]
    assert [(a["resource_name"], a["status"]) for a in appointments] == [("Dr. Amara Okafor", "booked")]
    readings = (await api.get(f"/api/patients/{sam.id}/vitals/readings", token=doctor.access_token, params={"limit": 1000})).body["readings"]
    assert len(readings) == 29
    alerts = (await api.get(f"/api/patients/{sam.id}/alerts", token=doctor.access_token)).body["alerts"]
    assert [a["rule"] for a in alerts if a["severity"] == "critical"] == ["bp_hypertensive_crisis"]

    again = await asyncio.to_thread(run_demo, engage_environment, web.url)
    assert again.returncode == 0, again.stderr
    assert "Demo data was seeded before; nothing to do." in again.stdout
    assert len((await api.get("/api/conversations", token=doctor.access_token)).body["conversations"]) == 1
