"""Demo data: `python app.py --demo` runs this after the web server is up.

It seeds a clinic with doctors, patients, a week of vitals, conversations and appointments
through Engage's own HTTP API (the same validation, events and jobs as real use), so the
demo stays valid as the API evolves. Only the demo admin account is created directly,
with the same action the first-admin setting uses. Running it again changes nothing and
prints the logins again.

    python -m engage.demo [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.request
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any

from engage import extensions
from engage.actions.users import ensure_admin
from engage.config import get_settings

DEMO_PASSWORD = "engage-demo-2026"
ADMIN = ("admin@demo.engage", "engage-demo-admin-2026")
CLINIC = {"name": "Riverside Clinic", "timezone": "Europe/Berlin", "address": "12 River Street", "phone": "+4930901820"}
DOCTORS = [
    {"name": "Dr. Amara Okafor", "email": "amara.okafor@demo.engage", "specialties": ["Cardiology"], "bio": "Heart health and blood pressure."},
    {"name": "Dr. Jonas Weber", "email": "jonas.weber@demo.engage", "specialties": ["General practice"], "bio": "Family doctor."},
    {"name": "Dr. Mei Lin", "email": "mei.lin@demo.engage", "specialties": ["Endocrinology", "General practice"], "bio": "Diabetes care."},
]
PATIENTS = [
    {"name": "Sam Patel", "email": "sam.patel@demo.engage", "timezone": "Europe/Berlin", "phone": "+4915112345670"},
    {"name": "Rosa Alvarez", "email": "rosa.alvarez@demo.engage", "timezone": "Europe/Madrid", "phone": "+34612345670"},
    {"name": "Tom Becker", "email": "tom.becker@demo.engage", "timezone": "Europe/Berlin"},
]
WEEKLY = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)] + [{"weekday": 5, "start": "09:00", "end": "12:00"}]


class ApiFailure(Exception):
    pass


class Client:
    """A tiny JSON client on urllib (the runtime has no HTTP client dependency)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def call(self, method: str, path: str, body: Any = None, token: str | None = None, ok: tuple[int, ...] = (200, 201)) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        payload = json.loads(raw) if raw else None
        if status not in ok:
            error = (payload or {}).get("error", {}) if isinstance(payload, dict) else {}
            raise ApiFailure(f"{method} {path} → {status} {error.get('code', '')}: {error.get('message', raw[:200])}")
        return status, payload

    def login(self, email: str, password: str) -> dict:
        return self.call("POST", "/api/auth/login", {"email": email, "password": password})[1]


async def _ensure_demo_admin() -> None:
    settings = get_settings()
    await extensions.init_database(settings, create_indexes=False)
    try:
        await ensure_admin(*ADMIN)
    finally:
        await extensions.close_database()


def _try(label: str, fn, notes: list[str]) -> Any:
    """Run one optional seeding step; a capability this server lacks is noted, not fatal."""
    try:
        return fn()
    except ApiFailure as exc:
        notes.append(f"skipped {label}: {exc}")
        return None


def seed(client: Client) -> list[str]:
    """Create the demo data; returns notes about steps that were skipped."""
    notes: list[str] = []
    admin = client.login(*ADMIN)["access_token"]
    clinic = client.call("POST", "/api/admin/clinics", CLINIC, token=admin)[1]["clinic"]

    doctors: list[dict] = []
    for spec in DOCTORS:
        user = client.call("POST", "/api/auth/register", {"email": spec["email"], "password": DEMO_PASSWORD, "name": spec["name"], "role": "doctor", "timezone": CLINIC["timezone"]})[1]["user"]
        client.call("POST", f"/api/admin/doctors/{user['id']}/approve", {}, token=admin)
        token = client.login(spec["email"], DEMO_PASSWORD)["access_token"]
        # The admin places the doctor (a doctor's own clinic_id would ask the clinic to approve).
        client.call("PATCH", f"/api/doctors/{user['id']}", {"clinic_id": clinic["id"], "specialties": spec["specialties"], "bio": spec["bio"]}, token=admin)
        client.call("PUT", f"/api/doctors/{user['id']}/availability", {"slot_minutes": 30, "buffer_minutes": 0, "weekly": WEEKLY}, token=token)
        doctors.append({**user, "token": token})

    patients: list[dict] = []
    for spec in PATIENTS:
        body = {"email": spec["email"], "password": DEMO_PASSWORD, "name": spec["name"], "role": "patient", "timezone": spec["timezone"]}
        if spec.get("phone"):
            body["phone"] = spec["phone"]
        user = client.call("POST", "/api/auth/register", body)[1]["user"]
        patients.append({**user, "token": client.login(spec["email"], DEMO_PASSWORD)["access_token"]})
    sam, rosa, tom = patients
    okafor, weber, lin = doctors

    # Conversations: two answered, one patient still waiting (it heads the doctor's queue).
    chats = [
        (sam, okafor, [(sam, "Good morning doctor, my blood pressure readings were high this week."),
                       (okafor, "Thanks Sam. Keep logging twice a day; I will look at the trend."),
                       (sam, "Will do. Should I change anything before our appointment?")]),
        (rosa, lin, [(rosa, "Hi Dr. Lin, my glucose was 260 after dinner yesterday."),
                     (lin, "Please log your readings before and after meals this week."),
                     (rosa, "OK, I have started.")]),
        (tom, weber, [(tom, "Hello, I need a repeat prescription for my inhaler.")]),
    ]
    for patient, doctor, lines in chats:
        conversation = client.call("POST", "/api/conversations", {"doctor_id": doctor["id"]}, token=patient["token"])[1]["conversation"]
        for sender, text in lines:
            client.call("POST", f"/api/conversations/{conversation['id']}/messages", {"client_id": uuid.uuid4().hex, "body": text}, token=sender["token"])
        if lines[-1][0] is not patient:
            continue
        # The doctor has read up to their own last message.
        last_own = max((i + 1 for i, (s, _) in enumerate(lines) if s is doctor), default=0)
        if last_own:
            client.call("POST", f"/api/conversations/{conversation['id']}/read", {"seq": last_own}, token=doctor["token"])

    # A week of vitals, backfilled (older readings raise no alerts), then one fresh high reading.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    sam_readings = []
    for day in range(7, 0, -1):
        for hour, bump in ((7, 0), (19, 6)):
            taken = (now - timedelta(days=day)).replace(hour=hour, minute=15)
            sam_readings.append({"type": "blood_pressure", "systolic": 132 + day % 3 * 4 + bump, "diastolic": 84 + day % 2 * 3, "unit": "mmHg", "taken_at": taken.isoformat()})
            sam_readings.append({"type": "heart_rate", "value": 68 + day % 4 * 3 + bump // 2, "unit": "bpm", "taken_at": taken.isoformat()})
    rosa_readings = []
    for day in range(7, 0, -1):
        for hour, value in ((7, 108), (13, 168), (20, 205)):
            taken = (now - timedelta(days=day)).replace(hour=hour, minute=30)
            rosa_readings.append({"type": "glucose", "value": value + (day * 7) % 30, "unit": "mg/dL", "taken_at": taken.isoformat()})
        rosa_readings.append({"type": "weight", "value": 81.5 - day * 0.1, "unit": "kg", "taken_at": (now - timedelta(days=day)).replace(hour=7, minute=0).isoformat()})
    _try("vitals", lambda: client.call("POST", "/api/vitals", {"readings": sam_readings}, token=sam["token"]), notes)
    _try("vitals", lambda: client.call("POST", "/api/vitals", {"readings": rosa_readings}, token=rosa["token"]), notes)
    _try("a fresh reading", lambda: client.call("POST", "/api/vitals", {"type": "blood_pressure", "systolic": 182, "diastolic": 118, "unit": "mmHg", "taken_at": (now - timedelta(minutes=20)).isoformat()}, token=sam["token"]), notes)

    # Appointments: each patient books their doctor's first free slot (from tomorrow on).
    for patient, doctor, reason in ((sam, okafor, "Blood pressure review"), (rosa, lin, "Glucose follow-up"), (tom, weber, "Repeat prescription")):
        def book(patient=patient, doctor=doctor, reason=reason) -> None:
            start = date.today() + timedelta(days=1)
            slots = client.call("GET", f"/api/doctors/{doctor['id']}/slots?from={start}&to={start + timedelta(days=7)}", token=patient["token"])[1]["slots"]
            if not slots:
                raise ApiFailure(f"no free slot for {doctor['name']}")
            pick = slots[min(len(slots) - 1, len(doctor["name"]) % 5)]
            client.call("POST", "/api/appointments", {"doctor_id": doctor["id"], "start": pick["start"], "reason": reason, "client_id": f"demo-{patient['id']}"}, token=patient["token"])

        _try("an appointment", book, notes)

    # A prescription: its doses and reminders are scheduled at once.
    _try("a prescription", lambda: client.call("POST", f"/api/patients/{sam['id']}/prescriptions", {
        "drug": "Amlodipine", "dose": "5 mg", "times": ["08:00", "20:00"], "start_date": (date.today() - timedelta(days=3)).isoformat(),
        "end_date": (date.today() + timedelta(days=60)).isoformat(), "instructions": "One tablet with water."}, token=okafor["token"]), notes)

    return notes


def print_logins(base_url: str) -> None:
    print(f"\nEngage demo data is ready. Open {base_url}", flush=True)
    print(f"  Patient app    {base_url}/          sam.patel@demo.engage / {DEMO_PASSWORD}  (also rosa.alvarez@, tom.becker@)")
    print(f"  Doctor console {base_url}/console   amara.okafor@demo.engage / {DEMO_PASSWORD}  (also jonas.weber@, mei.lin@)")
    print(f"  Admin          {base_url}/admin     {ADMIN[0]} / {ADMIN[1]}")
    print("  These demo passwords are public: do not run --demo on a server others can reach.\n", flush=True)


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    parser = argparse.ArgumentParser(prog="python -m engage.demo", description="Seed Engage's demo data.")
    parser.add_argument("--url", default=f"http://{host}:{settings.port}")
    args = parser.parse_args(argv)
    client = Client(args.url)

    asyncio.run(_ensure_demo_admin())
    try:
        client.login(PATIENTS[0]["email"], DEMO_PASSWORD)
        already = True
    except ApiFailure:
        already = False
    if already:
        print("Demo data was seeded before; nothing to do.", flush=True)
    else:
        try:
            notes = seed(client)
        except ApiFailure as exc:
            print(f"engage demo: seeding failed: {exc}", file=sys.stderr)
            return 1
        for note in notes:
            print(f"  note: {note}", flush=True)
    print_logins(args.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
