"""The authorization matrix: every route and socket event, tried as seven people.

engage/policy.py declares one rule per route and event; this module knows, per rule, who must
get through (ALLOWED) and, per route and event, one real request about the patient P (SAMPLES).
A route or event the app registers without a rule, or without a sample here, fails.

The actors: anonymous, the patient P, another patient Q, D (in P's care: P opened a conversation
with D and booked D), U (an approved doctor with no relation to P), N (a doctor whose approval was
withdrawn after signing in) and the admin A. Allowed means the request got past authorization:
no 401, 403 or 404, and no 5xx (a 409 or 422 about the request itself still counts). Refused
means 401 for anonymous and 403 or 404 for everyone else.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from bson import ObjectId

from engage.config import Settings
from engage.models.document import MedicalDocument
from engage.models.user import User
from engage.policy import EVENT_POLICIES
from engage.policy import RESERVED_EVENTS
from engage.policy import ROUTE_POLICIES
from engage.policy import Rule
from engage.web import create_asgi_app
from tests.booking_support import ALL_DAY
from tests.booking_support import iso
from tests.booking_support import make_clinic
from tests.clients import Account
from tests.clients import RecordingClient
from tests.conftest import login
from tests.conftest import register
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD

ANON, P, Q, D, U, N, A = "anonymous", "patient", "other_patient", "related_doctor", "unrelated_doctor", "unapproved_doctor", "admin"
ACTORS = (ANON, P, Q, D, U, N, A)

ALLOWED: dict[Rule, set[str]] = {
    Rule.public: set(ACTORS),
    Rule.signed_webhook: set(),  # nobody without the provider's signature
    Rule.any_user: {P, Q, D, U, A},
    Rule.patient: {P},
    Rule.doctor: {D},
    Rule.admin: {A},
    Rule.patient_or_doctor: {P, Q, D, U},
    Rule.conversation_opener: {P, Q, D},  # Q opens one with D for themselves; U names P and is refused
    Rule.conversation_participant: {P, D},
    Rule.patient_or_care_team: {P, D},
    Rule.care_team: {D},
    Rule.any_doctor: {D, U},
    Rule.appointment_party: {P, D, A},
    Rule.appointment_patient: {P, A},
    Rule.appointment_doctor: {D, A},
    Rule.doctor_self: {D, A},
    Rule.clinic_pharmacist: {A},  # nobody of the world is a pharmacist; a platform admin may act at any clinic
    Rule.order_party: {P, A},
    Rule.clinic_admin: {A},  # nobody of the world is staff of its clinic; the platform admin may act there
    Rule.clinic_staff: {A},
}


@dataclass
class Call:
    """One request: path, JSON body or query. `own` marks a request that names nobody's data
    but the caller's (GET /api/waitlist): there Q stands where P stands."""

    path: str
    json: Any = None
    params: dict[str, str] | None = None
    own: bool = False


@dataclass
class World:
    accounts: dict[str, Account]
    clinic: dict
    conversation_id: str
    appointment: dict
    prescription_id: str
    dose_id: str
    alert_id: str
    waitlist_entry_id: str
    test_centre_id: str
    notification_id: str
    make_patient: Callable[[], Awaitable[Account]]
    next_start: Callable[[], str]
    api: Any

    def id(self, actor: str) -> str:
        return self.accounts[actor].id

    async def fresh_appointment(self) -> dict:
        resp = await self.api.post(
            "/api/appointments", {"doctor_id": self.id(D), "start": self.next_start(), "client_id": uuid.uuid4().hex}, token=self.accounts[P].access_token
        )
        assert resp.status == 201, resp.body
        return resp.body["appointment"]

    async def fresh_prescription(self) -> str:
        today = datetime.now(UTC).date()
        body = {"drug": "Metformin", "dose": "500 mg", "times": ["08:00"], "start_date": str(today), "end_date": str(today + timedelta(days=30))}
        resp = await self.api.post(f"/api/patients/{self.id(P)}/prescriptions", body, token=self.accounts[D].access_token)
        assert resp.status == 201, resp.body
        return resp.body["prescription"]["id"]

    async def fresh_relation(self) -> str:
        patient = await self.make_patient()
        resp = await self.api.post("/api/admin/care-relations", {"patient_id": patient.id, "doctor_id": self.id(D)}, token=self.accounts[A].access_token)
        assert resp.status == 201, resp.body
        return resp.body["relation"]["id"]


Sample = Callable[[World, str], Awaitable[Call]]


def fixed(call: Callable[[World], Call]) -> Sample:
    async def sample(world: World, actor: str) -> Call:
        return call(world)

    return sample


def on_fresh_appointment(suffix: str, body: Callable[[World], Any]) -> Sample:
    async def sample(world: World, actor: str) -> Call:
        appointment = await world.fresh_appointment()
        return Call(f"/api/appointments/{appointment['id']}{suffix}", body(world))

    return sample


def _on_fresh_desk_appointment(step: str, body: Callable[[World], Any]) -> Sample:
    """A fresh appointment of the world's clinic, acted on through its front desk."""

    async def sample(world: World, actor: str) -> Call:
        appointment = await world.fresh_appointment()
        return Call(f"/api/clinics/{world.clinic['id']}/front-desk/appointments/{appointment['id']}/{step}", body(world))

    return sample


async def _emergency(world: World, actor: str) -> Call:
    # Each try names a patient of its own: access granted here must not relate U to P.
    patient = await world.make_patient()
    return Call(f"/api/patients/{patient.id}/emergency-access", {"reason": "Unconscious patient brought to the emergency room"})


async def _assign(world: World, actor: str) -> Call:
    patient = await world.make_patient()
    return Call("/api/admin/care-relations", {"patient_id": patient.id, "doctor_id": world.id(D)})


async def _end_relation(world: World, actor: str) -> Call:
    return Call(f"/api/admin/care-relations/{await world.fresh_relation()}/end", {"reason": "Moved away"})


async def _open_conversation(world: World, actor: str) -> Call:
    if actor in (P, Q):
        return Call("/api/conversations", {"doctor_id": world.id(D)})
    return Call("/api/conversations", {"patient_id": world.id(P)})


async def _stop(world: World, actor: str) -> Call:
    return Call(f"/api/prescriptions/{await world.fresh_prescription()}/stop")


def _day(days: int) -> str:
    return str((datetime.now(UTC) + timedelta(days=days)).date())


async def _created_by_doctor(world: World, suffix: str, body: dict, key: str) -> str:
    """A fresh entry in P's record, written by D: the id of body[key]."""
    resp = await world.api.post(f"/api/patients/{world.id(P)}{suffix}", body, token=world.accounts[D].access_token)
    assert resp.status in (200, 201), resp.body
    return resp.body[key]["id"]


async def _note(world: World, signed: bool) -> str:
    note_id = await _created_by_doctor(world, "/encounters", {"subjective": "Cough for a week"}, "encounter")
    if signed:
        await _created_by_doctor(world, f"/encounters/{note_id}/sign", {}, "encounter")
    return note_id


def on_record_entry(make: Callable[[World], Awaitable[str]], path: Callable[[World, str], str], body: Any = None) -> Sample:
    async def sample(world: World, actor: str) -> Call:
        return Call(path(world, await make(world)), body)

    return sample


async def _draft_note(w: World) -> str:
    return await _note(w, signed=False)


async def _signed_note(w: World) -> str:
    return await _note(w, signed=True)


async def _problem(w: World) -> str:
    return await _created_by_doctor(w, "/problems", {"condition": "Asthma"}, "problem")


async def _allergy(w: World) -> str:
    return await _created_by_doctor(w, "/allergies", {"substance": "Penicillin"}, "allergy")


# The smallest valid PNG: one white pixel.
ONE_PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8ffff3f0005fe02fea7d6a4f50000000049454e44ae426082"
)


async def _document(w: World) -> str:
    """A document P uploaded, with one pending lab suggestion (as the processing job would leave it)."""
    form = aiohttp.FormData()
    form.add_field("file", ONE_PIXEL_PNG, filename="scan.png", content_type="image/png")
    async with w.api.session.post(f"{w.api.base_url}/api/patients/{w.id(P)}/documents", data=form, headers={"Authorization": f"Bearer {w.accounts[P].access_token}"}) as resp:
        body = await resp.json()
        assert resp.status == 201, body
    suggestion = {"id": "s1", "kind": "lab", "fields": {"test_name": "HbA1c", "value": 7.2, "unit": "%"}, "source_text": "HbA1c 7.2 %", "status": "pending"}
    await MedicalDocument.get_pymongo_collection().update_one({"_id": ObjectId(body["document"]["id"])}, {"$push": {"suggestions": suggestion}})
    return body["document"]["id"]


def _application_body() -> dict:
    return {
        "clinic": {"name": f"Applied {uuid.uuid4().hex[:6]}", "timezone": "UTC"},
        "applicant": {"name": "Ann Applicant", "email": f"applicant-{uuid.uuid4().hex[:8]}@example.org", "password": "correct-horse-42"},
    }


def _on_fresh_application(action: str, body: Any = None) -> Sample:
    async def sample(world: World, actor: str) -> Call:
        resp = await world.api.post("/api/clinic-applications", _application_body())
        assert resp.status == 201, resp.body
        return Call(f"/api/admin/clinic-applications/{resp.body['application']['id']}/{action}", body)

    return sample


# A logo must open as a PNG (Pillow checks its checksums).
LOGO_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8ffff3f0005fe02fe0def46b80000000049454e44ae426082")


async def _clinic_logo(world: World, actor: str) -> Call:
    """The world's clinic with a logo (the admin uploads it)."""
    form = aiohttp.FormData()
    form.add_field("file", LOGO_PNG, filename="logo.png", content_type="image/png")
    headers = {"Authorization": f"Bearer {world.accounts[A].access_token}"}
    async with world.api.session.post(f"{world.api.base_url}/api/clinics/{world.clinic['id']}/logo", data=form, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    return Call(f"/api/clinics/{world.clinic['id']}/logo")


async def _fresh_staff_member(world: World, actor: str) -> Call:
    body = {"email": f"desk-{uuid.uuid4().hex[:8]}@example.org", "role": "receptionist"}
    resp = await world.api.post(f"/api/clinics/{world.clinic['id']}/staff", body, token=world.accounts[A].access_token)
    assert resp.status == 201, resp.body
    return Call(f"/api/clinics/{world.clinic['id']}/staff/{resp.body['user']['id']}")


def _on_fresh_join_request(step: str, body: Any = None) -> Sample:
    """A new doctor's pending request to join the world's clinic, decided by `step`."""

    async def sample(world: World, actor: str) -> Call:
        user = await register(world.api, "doctor")
        assert (await world.api.post(f"/api/admin/doctors/{user['id']}/approve", token=world.accounts[A].access_token)).status == 200
        doctor = await login(world.api, user["email"], user["password"])
        resp = await world.api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": world.clinic["id"], "specialties": ["matrix"]}, token=doctor.access_token)
        assert resp.status == 200 and resp.body["clinic_request"]["status"] == "pending", resp.body
        return Call(f"/api/clinics/{world.clinic['id']}/doctors/{doctor.id}/{step}", body)

    return sample


async def _weak_password_change(world: World, actor: str) -> Call:
    password = world.accounts[actor].password if actor in world.accounts else "correct-horse-42"
    return Call("/api/me/password", {"current_password": password, "password": "short"}, own=True)


async def _reject_fresh_doctor(world: World, actor: str) -> Call:
    """A new pending doctor (the world's doctors stay as they are)."""
    user = await register(world.api, "doctor")
    return Call(f"/api/admin/doctors/{user['id']}/reject", {"reason": "No licence number"})


async def _deactivate_fresh(world: World, actor: str) -> Call:
    patient = await world.make_patient()
    return Call(f"/api/admin/users/{patient.id}/deactivate", {"reason": "Left the practice"})


def _deactivate_fresh_then(action: str) -> Sample:
    async def sample(world: World, actor: str) -> Call:
        patient = await world.make_patient()
        resp = await world.api.post(f"/api/admin/users/{patient.id}/deactivate", {}, token=world.accounts[A].access_token)
        assert resp.status == 200, resp.body
        return Call(f"/api/admin/users/{patient.id}/{action}")

    return sample


SIGNED_WEBHOOK_FORM = {"From": "+15005550006", "Body": "YES"}

async def _pharmacy_item(w: World) -> str:
    """An item of the world's clinic, in stock, as the admin adds it."""
    body = {"name": f"Paracetamol {uuid.uuid4().hex[:4]}", "form": "tablet", "strength": "500 mg", "pack_size": 16, "price": "2.50", "initial_stock": 100}
    resp = await w.api.post(f"/api/clinics/{w.clinic['id']}/pharmacy/items", body, token=w.accounts[A].access_token)
    assert resp.status == 201, resp.body
    return resp.body["item"]["id"]


async def _pharmacy_order(w: World) -> str:
    """An order P placed for one such item."""
    item_id, token = await _pharmacy_item(w), w.accounts[P].access_token
    assert (await w.api.put("/api/me/cart", {"clinic_id": w.clinic["id"], "lines": [{"item_id": item_id, "quantity": 1}]}, token=token)).status == 200
    resp = await w.api.post("/api/orders", {"clinic_id": w.clinic["id"], "client_id": uuid.uuid4().hex}, token=token)
    assert resp.status == 201, resp.body
    return resp.body["order"]["id"]


def on_pharmacy(make: Callable[[World], Awaitable[str]], path: Callable[[World, str], str], body: Any = None) -> Sample:
    async def sample(world: World, actor: str) -> Call:
        return Call(path(world, await make(world)), body)

    return sample


SAMPLES: dict[str, Sample] = {
    "GET /healthz": fixed(lambda w: Call("/healthz")),
    "GET /": fixed(lambda w: Call("/")),
    "GET /console": fixed(lambda w: Call("/console")),
    "GET /admin": fixed(lambda w: Call("/admin")),
    "GET /clinic": fixed(lambda w: Call("/clinic")),
    "GET /pharmacy": fixed(lambda w: Call("/pharmacy")),
    "GET /frontdesk": fixed(lambda w: Call("/frontdesk")),
    "GET /static/<path:filename>": fixed(lambda w: Call("/static/css/app.css")),
    "GET /api/openapi.json": fixed(lambda w: Call("/api/openapi.json")),
    "GET /api/asyncapi.json": fixed(lambda w: Call("/api/asyncapi.json")),
    "GET /api/docs": fixed(lambda w: Call("/api/docs")),
    "GET /metrics": fixed(lambda w: Call("/metrics")),
    "POST /api/auth/register": fixed(lambda w: Call("/api/auth/register", {"email": f"m-{uuid.uuid4().hex[:8]}@example.org", "password": "correct-horse-42", "name": "M", "role": "patient"})),
    "POST /api/auth/login": fixed(lambda w: Call("/api/auth/login", {"email": "nobody@example.org", "password": "wrong-password-1"})),
    "POST /api/auth/refresh": fixed(lambda w: Call("/api/auth/refresh", {"refresh_token": "not-a-token"})),
    "POST /api/auth/logout": fixed(lambda w: Call("/api/auth/logout", {"refresh_token": "not-a-token"})),
    "GET /api/me": fixed(lambda w: Call("/api/me", own=True)),
    # Accounts (issue 19)
    "POST /api/auth/email/verify": fixed(lambda w: Call("/api/auth/email/verify", {"token": "not-a-real-link-token-0123"})),
    "POST /api/auth/email/resend": fixed(lambda w: Call("/api/auth/email/resend", own=True)),
    "POST /api/auth/password/forgot": fixed(lambda w: Call("/api/auth/password/forgot", {"email": "nobody@example.org"})),
    "POST /api/auth/password/reset": fixed(lambda w: Call("/api/auth/password/reset", {"token": "not-a-real-link-token-0123", "password": "correct-horse-42"})),
    # A weak new password (422) changes nothing: the shared admin's other sessions must live on.
    "POST /api/me/password": _weak_password_change,
    "PATCH /api/me": fixed(lambda w: Call("/api/me", {}, own=True)),
    "GET /api/me/export": fixed(lambda w: Call("/api/me/export", own=True)),
    # A wrong password (400) deletes nothing: the matrix's accounts live on.
    "POST /api/me/delete": fixed(lambda w: Call("/api/me/delete", {"password": "not-the-password-1"}, own=True)),
    "POST /api/auth/otp/start": fixed(lambda w: Call("/api/auth/otp/start", {"email": f"otp-{uuid.uuid4().hex[:8]}@example.org"})),
    "POST /api/auth/otp/verify": fixed(lambda w: Call("/api/auth/otp/verify", {"email": "nobody@example.org", "code": "123456"})),
    # A fresh number each time: the resend cooldown is per number.
    "POST /api/me/phone": fixed(lambda w: Call("/api/me/phone", {"phone": f"+1415555{uuid.uuid4().int % 10000:04d}"}, own=True)),
    "POST /api/me/phone/verify": fixed(lambda w: Call("/api/me/phone/verify", {"code": "123456"}, own=True)),
    "POST /api/me/mfa/totp": fixed(lambda w: Call("/api/me/mfa/totp", own=True)),
    "POST /api/me/mfa/totp/confirm": fixed(lambda w: Call("/api/me/mfa/totp/confirm", {"code": "123456"}, own=True)),
    "DELETE /api/me/mfa/totp": fixed(lambda w: Call("/api/me/mfa/totp", {"code": "123456"}, own=True)),
    "POST /api/auth/mfa": fixed(lambda w: Call("/api/auth/mfa", {"mfa_token": "not-a-real-mfa-token-0123", "code": "123456"})),
    "POST /api/auth/mfa/totp": fixed(lambda w: Call("/api/auth/mfa/totp", {"mfa_token": "not-a-real-mfa-token-0123"})),
    "POST /api/clinic-applications": fixed(lambda w: Call("/api/clinic-applications", _application_body())),
    "GET /api/admin/clinic-applications": fixed(lambda w: Call("/api/admin/clinic-applications", params={"status": "pending"})),
    "POST /api/admin/clinic-applications/<application_id>/approve": _on_fresh_application("approve"),
    "POST /api/admin/clinic-applications/<application_id>/reject": _on_fresh_application("reject", {"reason": "No licence number"}),
    "POST /api/clinics/<clinic_id>/staff": fixed(
        lambda w: Call(f"/api/clinics/{w.clinic['id']}/staff", {"email": f"desk-{uuid.uuid4().hex[:8]}@example.org", "role": "receptionist"})
    ),
    "GET /api/clinics/<clinic_id>/staff": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/staff")),
    "GET /api/clinics/<clinic_id>/branding": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/branding")),
    "PUT /api/clinics/<clinic_id>/branding": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/branding", {"brand_color": "#0a7f5c"})),
    "POST /api/clinics/<clinic_id>/logo": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/logo")),  # not multipart: 415 once through
    "GET /api/clinics/<clinic_id>/logo": _clinic_logo,
    "DELETE /api/clinics/<clinic_id>/staff/<user_id>": _fresh_staff_member,
    "GET /api/clinics/<clinic_id>/doctors": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/doctors", params={"status": "pending"})),
    "POST /api/clinics/<clinic_id>/doctors/<doctor_id>/approve": _on_fresh_join_request("approve"),
    "POST /api/clinics/<clinic_id>/doctors/<doctor_id>/reject": _on_fresh_join_request("reject", {"reason": "No cardiology room"}),
    "GET /api/clinics/<clinic_id>/stats": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/stats")),
    "GET /api/clinics/<clinic_id>/audit": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/audit")),
    "GET /api/me/clinic": fixed(lambda w: Call("/api/me/clinic", own=True)),
    "GET /api/clinics/<clinic_id>/front-desk/appointments": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/front-desk/appointments", params={"date": _day(3)})),
    "GET /api/clinics/<clinic_id>/front-desk/appointments/by-token/<token>": fixed(
        lambda w: Call(f"/api/clinics/{w.clinic['id']}/front-desk/appointments/by-token/{w.appointment['token']}")
    ),
    "GET /api/clinics/<clinic_id>/front-desk/patients": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/front-desk/patients", params={"q": "Test"})),
    "POST /api/clinics/<clinic_id>/front-desk/appointments": fixed(
        lambda w: Call(f"/api/clinics/{w.clinic['id']}/front-desk/appointments", {"patient_id": w.id(P), "doctor_id": w.id(D), "start": w.next_start(), "client_id": uuid.uuid4().hex})
    ),
    "POST /api/clinics/<clinic_id>/front-desk/appointments/<appointment_id>/reschedule": _on_fresh_desk_appointment("reschedule", lambda w: {"start": w.next_start()}),
    "POST /api/clinics/<clinic_id>/front-desk/appointments/<appointment_id>/cancel": _on_fresh_desk_appointment("cancel", lambda w: {"reason": "The doctor is ill"}),
    "POST /api/clinics/<clinic_id>/front-desk/appointments/<appointment_id>/check-in": _on_fresh_desk_appointment("check-in", lambda w: None),  # not today: 409 once through
    "GET /api/admin/users": fixed(lambda w: Call("/api/admin/users", params={"role": "doctor", "limit": "5"})),
    "POST /api/admin/users/<user_id>/deactivate": _deactivate_fresh,
    "POST /api/admin/users/<user_id>/reactivate": _deactivate_fresh_then("reactivate"),
    "GET /api/me/preferences": fixed(lambda w: Call("/api/me/preferences", own=True)),
    "PUT /api/me/preferences": fixed(lambda w: Call("/api/me/preferences", {}, own=True)),
    "GET /api/me/care-team": fixed(lambda w: Call("/api/me/care-team", own=True)),
    "GET /api/me/access-log": fixed(lambda w: Call("/api/me/access-log", own=True)),
    "POST /api/patients/<patient_id>/emergency-access": _emergency,
    "POST /api/admin/care-relations": _assign,
    "POST /api/admin/care-relations/<relation_id>/end": _end_relation,
    "GET /api/admin/audit": fixed(lambda w: Call("/api/admin/audit", params={"subject_id": w.id(P)})),
    "GET /api/admin/doctors": fixed(lambda w: Call("/api/admin/doctors")),
    "POST /api/admin/doctors/<doctor_id>/approve": fixed(lambda w: Call(f"/api/admin/doctors/{w.id(D)}/approve")),
    "POST /api/admin/doctors/<doctor_id>/reject": _reject_fresh_doctor,
    "GET /api/admin/stats": fixed(lambda w: Call("/api/admin/stats")),
    "POST /api/admin/clinics": fixed(lambda w: Call("/api/admin/clinics", {"name": f"Clinic {uuid.uuid4().hex[:6]}", "timezone": "UTC"})),
    "POST /api/admin/test-centres": fixed(
        lambda w: Call("/api/admin/test-centres", {"name": f"Lab {uuid.uuid4().hex[:6]}", "kind": "blood_test", "clinic_id": w.clinic["id"], "capacity": 1, "weekly": []})
    ),
    "GET /api/admin/outbox": fixed(lambda w: Call("/api/admin/outbox")),
    "POST /api/admin/outbox/<notification_id>/retry": fixed(lambda w: Call(f"/api/admin/outbox/{w.notification_id}/retry")),
    "GET /api/admin/sms-replies": fixed(lambda w: Call("/api/admin/sms-replies")),
    "POST /api/conversations": _open_conversation,
    "GET /api/conversations": fixed(lambda w: Call("/api/conversations", own=True)),
    "GET /api/conversations/<conversation_id>": fixed(lambda w: Call(f"/api/conversations/{w.conversation_id}")),
    "GET /api/conversations/<conversation_id>/messages": fixed(lambda w: Call(f"/api/conversations/{w.conversation_id}/messages")),
    "POST /api/conversations/<conversation_id>/messages": fixed(lambda w: Call(f"/api/conversations/{w.conversation_id}/messages", {"client_id": uuid.uuid4().hex, "body": "hello"})),
    "POST /api/conversations/<conversation_id>/read": fixed(lambda w: Call(f"/api/conversations/{w.conversation_id}/read", {"seq": 0})),
    "GET /api/clinics": fixed(lambda w: Call("/api/clinics")),
    "PATCH /api/doctors/<doctor_id>": fixed(lambda w: Call(f"/api/doctors/{w.id(D)}", {"bio": "Family doctor"})),
    "PUT /api/doctors/<doctor_id>/availability": fixed(
        lambda w: Call(f"/api/doctors/{w.id(D)}/availability", {"slot_minutes": 30, "buffer_minutes": 0, "weekly": ALL_DAY, "exceptions": []})
    ),
    "GET /api/doctors": fixed(lambda w: Call("/api/doctors")),
    "GET /api/doctors/<doctor_id>": fixed(lambda w: Call(f"/api/doctors/{w.id(D)}")),
    "GET /api/specialties": fixed(lambda w: Call("/api/specialties")),
    "GET /api/doctors/<doctor_id>/slots": fixed(lambda w: Call(f"/api/doctors/{w.id(D)}/slots", params={"from": _day(20), "to": _day(20)})),
    "GET /api/test-centres": fixed(lambda w: Call("/api/test-centres")),
    "GET /api/test-centres/<centre_id>/slots": fixed(lambda w: Call(f"/api/test-centres/{w.test_centre_id}/slots", params={"from": _day(20), "to": _day(20)})),
    "POST /api/appointments": fixed(
        lambda w: Call("/api/appointments", {"doctor_id": w.id(D), "start": w.next_start(), "client_id": uuid.uuid4().hex, "patient_id": w.id(P)}, own=True)
    ),
    "GET /api/appointments": fixed(lambda w: Call("/api/appointments", own=True)),
    "GET /api/appointments/by-token/<token>": fixed(lambda w: Call(f"/api/appointments/by-token/{w.appointment['token']}")),
    "GET /api/appointments/<appointment_id>": fixed(lambda w: Call(f"/api/appointments/{w.appointment['id']}")),
    "POST /api/appointments/<appointment_id>/reschedule": on_fresh_appointment("/reschedule", lambda w: {"start": w.next_start()}),
    "POST /api/appointments/<appointment_id>/cancel": on_fresh_appointment("/cancel", lambda w: {}),
    "POST /api/appointments/<appointment_id>/confirm": on_fresh_appointment("/confirm", lambda w: None),
    "POST /api/appointments/<appointment_id>/status": on_fresh_appointment("/status", lambda w: {"status": "confirmed"}),
    "POST /api/waitlist": fixed(lambda w: Call("/api/waitlist", {"doctor_id": w.id(D), "from": iso(datetime.now(UTC) + timedelta(days=40)), "to": iso(datetime.now(UTC) + timedelta(days=41))}, own=True)),
    "GET /api/waitlist": fixed(lambda w: Call("/api/waitlist", own=True)),
    "POST /api/waitlist/<entry_id>/accept": fixed(lambda w: Call(f"/api/waitlist/{w.waitlist_entry_id}/accept")),
    "POST /api/waitlist/<entry_id>/decline": fixed(lambda w: Call(f"/api/waitlist/{w.waitlist_entry_id}/decline")),
    "POST /api/waitlist/<entry_id>/cancel": fixed(lambda w: Call(f"/api/waitlist/{w.waitlist_entry_id}/cancel")),
    "POST /api/vitals": fixed(lambda w: Call("/api/vitals", {"type": "heart_rate", "value": 70, "taken_at": iso(datetime.now(UTC) - timedelta(minutes=1))}, own=True)),
    "GET /api/patients/<patient_id>/vitals": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/vitals", params={"type": "heart_rate"})),
    "GET /api/patients/<patient_id>/vitals/readings": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/vitals/readings")),
    "GET /api/patients/<patient_id>/alerts": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/alerts")),
    "POST /api/alerts/<alert_id>/ack": fixed(lambda w: Call(f"/api/alerts/{w.alert_id}/ack", {})),
    "GET /api/patients/<patient_id>/thresholds": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/thresholds")),
    "PUT /api/patients/<patient_id>/thresholds": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/thresholds", {"spo2": {"low": 93}})),
    "PUT /api/patients/<patient_id>/monitoring": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/monitoring", {"enrolled": False})),
    "GET /fhir/Observation": fixed(lambda w: Call("/fhir/Observation", params={"patient": w.id(P)})),
    "GET /fhir/Patient/<patient_id>/$everything": fixed(lambda w: Call(f"/fhir/Patient/{w.id(P)}/$everything")),
    "GET /fhir/metadata": fixed(lambda w: Call("/fhir/metadata")),
    "POST /api/advice": fixed(lambda w: Call("/api/advice", {"patient_id": w.id(P)})),
    "GET /api/advice": fixed(lambda w: Call("/api/advice", params={"patient_id": w.id(P)})),
    "POST /api/patients/<patient_id>/prescriptions": fixed(
        lambda w: Call(f"/api/patients/{w.id(P)}/prescriptions", {"drug": "Aspirin", "dose": "75 mg", "times": ["09:00"], "start_date": _day(0), "end_date": _day(5)})
    ),
    "GET /api/patients/<patient_id>/prescriptions": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/prescriptions")),
    "GET /api/prescriptions/<prescription_id>/doses": fixed(lambda w: Call(f"/api/prescriptions/{w.prescription_id}/doses")),
    "POST /api/prescriptions/<prescription_id>/stop": _stop,
    "POST /api/medication/doses/<dose_id>/taken": fixed(lambda w: Call(f"/api/medication/doses/{w.dose_id}/taken")),
    "GET /api/patients/<patient_id>/record": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/record")),
    "GET /api/me/record": fixed(lambda w: Call("/api/me/record", own=True)),
    "GET /api/patients/<patient_id>/risk": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/risk")),
    "PUT /api/me/risk-answers": fixed(lambda w: Call("/api/me/risk-answers", {"smoker": False}, own=True)),
    "GET /api/clinics/<clinic_id>/pharmacy/items": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/pharmacy/items", params={"q": "para"})),
    "POST /api/clinics/<clinic_id>/pharmacy/items": fixed(
        lambda w: Call(f"/api/clinics/{w.clinic['id']}/pharmacy/items", {"name": "Ibuprofen", "form": "tablet", "strength": "200 mg", "pack_size": 24, "price": "3.10"})
    ),
    "POST /api/pharmacy/items/<item_id>/stock": on_pharmacy(_pharmacy_item, lambda w, i: f"/api/pharmacy/items/{i}/stock", {"kind": "received", "quantity": 5}),
    "GET /api/me/cart": fixed(lambda w: Call("/api/me/cart", own=True)),
    "PUT /api/me/cart": fixed(lambda w: Call("/api/me/cart", {"lines": []}, own=True)),
    "POST /api/orders": fixed(lambda w: Call("/api/orders", {"clinic_id": w.clinic["id"], "client_id": uuid.uuid4().hex}, own=True)),
    "GET /api/me/orders": fixed(lambda w: Call("/api/me/orders", own=True)),
    "GET /api/orders/<order_id>": on_pharmacy(_pharmacy_order, lambda w, o: f"/api/orders/{o}"),
    "POST /api/orders/<order_id>/cancel": on_pharmacy(_pharmacy_order, lambda w, o: f"/api/orders/{o}/cancel", {"reason": "matrix check"}),
    "POST /api/orders/<order_id>/ready": on_pharmacy(_pharmacy_order, lambda w, o: f"/api/orders/{o}/ready"),
    "POST /api/orders/<order_id>/collected": on_pharmacy(_pharmacy_order, lambda w, o: f"/api/orders/{o}/collected"),
    "GET /api/clinics/<clinic_id>/pharmacy/orders": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/pharmacy/orders")),
    "GET /api/patients/<patient_id>/record/search": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/record/search", params={"q": "last HbA1c"})),
    "POST /api/patients/<patient_id>/encounters": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/encounters", {"subjective": "Headache"})),
    "GET /api/patients/<patient_id>/encounters/<encounter_id>": on_record_entry(_signed_note, lambda w, i: f"/api/patients/{w.id(P)}/encounters/{i}"),
    "PATCH /api/patients/<patient_id>/encounters/<encounter_id>": on_record_entry(_draft_note, lambda w, i: f"/api/patients/{w.id(P)}/encounters/{i}", {"plan": "Rest"}),
    "POST /api/patients/<patient_id>/encounters/<encounter_id>/sign": on_record_entry(_draft_note, lambda w, i: f"/api/patients/{w.id(P)}/encounters/{i}/sign"),
    "POST /api/patients/<patient_id>/encounters/<encounter_id>/amend": on_record_entry(
        _signed_note, lambda w, i: f"/api/patients/{w.id(P)}/encounters/{i}/amend", {"subjective": "Cough for two weeks", "reason": "Duration corrected"}
    ),
    "POST /api/patients/<patient_id>/problems": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/problems", {"condition": "Hypertension", "icd10": "I10"})),
    "PATCH /api/patients/<patient_id>/problems/<problem_id>": on_record_entry(_problem, lambda w, i: f"/api/patients/{w.id(P)}/problems/{i}", {"status": "resolved"}),
    "POST /api/patients/<patient_id>/allergies": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/allergies", {"substance": "Latex"})),
    "PATCH /api/patients/<patient_id>/allergies/<allergy_id>": on_record_entry(_allergy, lambda w, i: f"/api/patients/{w.id(P)}/allergies/{i}", {"severity": "severe"}),
    "POST /api/patients/<patient_id>/lab-results": fixed(
        lambda w: Call(f"/api/patients/{w.id(P)}/lab-results", {"test_name": "HbA1c", "value": 6.1, "unit": "%", "ref_low": 4.0, "ref_high": 5.6})
    ),
    "POST /api/patients/<patient_id>/record/<kind>/<item_id>/entered-in-error": on_record_entry(
        _problem, lambda w, i: f"/api/patients/{w.id(P)}/record/problems/{i}/entered-in-error", {"reason": "Wrong patient"}
    ),
    "POST /api/patients/<patient_id>/documents": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/documents")),  # not multipart: 415 once through
    "GET /api/patients/<patient_id>/documents": fixed(lambda w: Call(f"/api/patients/{w.id(P)}/documents")),
    "GET /api/documents/<document_id>": on_record_entry(_document, lambda w, i: f"/api/documents/{i}"),
    "GET /api/documents/<document_id>/details": on_record_entry(_document, lambda w, i: f"/api/documents/{i}/details"),
    "POST /api/patients/<patient_id>/documents/<document_id>/suggestions/<suggestion_id>/accept": on_record_entry(
        _document, lambda w, i: f"/api/patients/{w.id(P)}/documents/{i}/suggestions/s1/accept", {}
    ),
    "POST /api/patients/<patient_id>/documents/<document_id>/suggestions/<suggestion_id>/reject": on_record_entry(
        _document, lambda w, i: f"/api/patients/{w.id(P)}/documents/{i}/suggestions/s1/reject"
    ),
    "POST /api/assistant/classify": fixed(lambda w: Call("/api/assistant/classify", {"text": "I have a headache"})),
    "POST /api/assistant/conversation": fixed(lambda w: Call("/api/assistant/conversation", {}, own=True)),
    "GET /api/clinics/<clinic_id>/faq": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/faq")),
    "PUT /api/clinics/<clinic_id>/faq": fixed(lambda w: Call(f"/api/clinics/{w.clinic['id']}/faq", {"entries": [{"question": "Is there parking?", "answer": "Yes, behind the clinic."}]})),
    "POST /webhooks/twilio/sms": fixed(lambda w: Call("/webhooks/twilio/sms", SIGNED_WEBHOOK_FORM)),
    "POST /webhooks/twilio/status": fixed(lambda w: Call("/webhooks/twilio/status", SIGNED_WEBHOOK_FORM)),
    "POST /webhooks/sendgrid/events": fixed(lambda w: Call("/webhooks/sendgrid/events", [])),
}

EVENT_SAMPLES: dict[str, Callable[[World, str], tuple[Any, bool]]] = {
    # event -> (data about P's world, own: names nobody's data but the caller's)
    "chat:send": lambda w, actor: ({"conversation_id": w.conversation_id, "client_id": uuid.uuid4().hex, "body": "hi"}, False),
    "chat:typing": lambda w, actor: ({"conversation_id": w.conversation_id, "typing": True}, False),
    "chat:read": lambda w, actor: ({"conversation_id": w.conversation_id, "seq": 0}, False),
    "chat:sync": lambda w, actor: ({"conversation_id": w.conversation_id, "after_seq": 0}, False),
    "schedule:watch": lambda w, actor: ({"doctor_id": w.id(D)}, False),
    "schedule:unwatch": lambda w, actor: ({"doctor_id": w.id(D)}, False),
    "vitals:submit": lambda w, actor: ({"type": "heart_rate", "value": 71, "taken_at": iso(datetime.now(UTC) - timedelta(minutes=2))}, True),
    "vitals:watch": lambda w, actor: ({"patient_id": w.id(P)}, False),
    "vitals:unwatch": lambda w, actor: ({"patient_id": w.id(P)}, False),
    "vitals:ack": lambda w, actor: ({"alert_id": w.alert_id}, False),
    "medication:taken": lambda w, actor: ({"dose_id": w.dose_id}, False),
    "auth:refresh": lambda w, actor: ({"token": w.accounts[actor].access_token}, True),
}


def inspected_app():
    """The app as a web process builds it, never served: its route table and event registry."""
    return create_asgi_app(Settings(MONGODB_URL="mongodb://127.0.0.1:1", REDIS_URL="redis://127.0.0.1:1", secret_key="inspection-only-" + "x" * 32))


def registered_routes() -> set[str]:
    url_map = inspected_app().other_asgi_app.url_map
    return {f"{method} {rule.rule}" for rule in url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}


def registered_events() -> set[str]:
    return set(inspected_app().other_asgi_app.extensions["sio"].handlers["/"]) - RESERVED_EVENTS


def expected_allowed(rule: Rule, own: bool) -> set[str]:
    allowed = set(ALLOWED[rule])
    if own:  # the request is about the caller: whoever stands where P or D stands may make it
        if P in allowed:
            allowed.add(Q)
        if D in allowed:
            allowed.add(U)
    return allowed


def test_every_route_and_event_declares_a_rule_and_has_a_sample():
    routes = registered_routes()
    assert sorted(routes - set(ROUTE_POLICIES)) == [], "routes without an access rule in engage/policy.py"
    assert sorted(set(ROUTE_POLICIES) - routes) == [], "rules for routes the app does not have"
    assert sorted(routes - set(SAMPLES)) == [], "routes the matrix does not try"
    events = registered_events()
    assert sorted(events - set(EVENT_POLICIES)) == [], "events without an access rule in engage/policy.py"
    assert sorted(set(EVENT_POLICIES) - events) == [], "rules for events the app does not have"
    assert sorted(events - set(EVENT_SAMPLES)) == [], "events the matrix does not try"
    assert set(ALLOWED) == set(Rule), "a rule the matrix does not know"


@pytest.fixture(scope="module")
async def world(api, db) -> World:
    admin = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)

    async def patient() -> Account:
        user = await register(api, "patient")
        return await login(api, user["email"], user["password"])

    async def doctor(clinic: dict) -> Account:
        user = await register(api, "doctor")
        assert (await api.post(f"/api/admin/doctors/{user['id']}/approve", token=admin.access_token)).status == 200
        account = await login(api, user["email"], user["password"])
        assert (await api.patch(f"/api/doctors/{account.id}", {"clinic_id": clinic["id"], "specialties": ["matrix"]}, token=admin.access_token)).status == 200
        body = {"slot_minutes": 30, "buffer_minutes": 0, "weekly": ALL_DAY, "exceptions": []}
        assert (await api.put(f"/api/doctors/{account.id}/availability", body, token=account.access_token)).status == 200
        return account

    clinic = await make_clinic(api, admin)
    accounts = {P: await patient(), Q: await patient(), D: await doctor(clinic), U: await doctor(clinic), N: await doctor(clinic), A: admin}
    # N signed in while approved; the approval is then withdrawn: its valid token must open nothing.
    await User.get_pymongo_collection().update_one({"_id": ObjectId(accounts[N].id)}, {"$set": {"approved": False}})
    starts = (datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3, minutes=30 * i) for i in itertools.count())
    w = World(accounts, clinic, "", {}, "", "", "", "", "", "", patient, lambda: iso(next(starts)), api)
    p_token, d_token = accounts[P].access_token, accounts[D].access_token

    resp = await api.post("/api/conversations", {"doctor_id": accounts[D].id}, token=p_token)
    assert resp.status == 201, resp.body
    w.conversation_id = resp.body["conversation"]["id"]
    w.appointment = await w.fresh_appointment()
    w.prescription_id = await w.fresh_prescription()
    doses = await api.get(f"/api/prescriptions/{w.prescription_id}/doses", token=p_token)
    assert doses.status == 200 and doses.body["doses"], doses.body
    w.dose_id = doses.body["doses"][0]["id"]
    assert (await api.post("/api/vitals", {"type": "spo2", "value": 85, "taken_at": iso(datetime.now(UTC) - timedelta(minutes=1))}, token=p_token)).status == 201
    alerts = await api.get(f"/api/patients/{accounts[P].id}/alerts", token=d_token)
    assert alerts.status == 200 and alerts.body["alerts"], alerts.body
    w.alert_id = alerts.body["alerts"][0]["id"]
    resp = await api.post("/api/waitlist", {"doctor_id": accounts[D].id, "from": iso(datetime.now(UTC) + timedelta(days=30)), "to": iso(datetime.now(UTC) + timedelta(days=31))}, token=p_token)
    assert resp.status == 201, resp.body
    w.waitlist_entry_id = resp.body["entry"]["id"]
    body = {"name": f"Lab {uuid.uuid4().hex[:6]}", "kind": "blood_test", "clinic_id": clinic["id"], "capacity": 1, "weekly": ALL_DAY}
    resp = await api.post("/api/admin/test-centres", body, token=admin.access_token)
    assert resp.status == 201, resp.body
    w.test_centre_id = resp.body["test_centre"]["id"]
    outbox = await api.get("/api/admin/outbox", params={"recipient": accounts[P].id}, token=admin.access_token)
    assert outbox.status == 200 and outbox.body["notifications"], outbox.body
    w.notification_id = outbox.body["notifications"][0]["id"]
    return w


# The codes of an authorization refusal; a public route answers with none of them.
REFUSAL_CODES = {"unauthorized", "invalid_token", "forbidden", "doctor_not_approved", "no_policy"}


def refused(rule: Rule, actor: str, status: int) -> bool:
    if rule == Rule.signed_webhook:
        return status in (401, 403)
    return status == 401 if actor == ANON else status in (403, 404)


def got_through(rule: Rule, status: int, code: str | None) -> bool:
    if rule == Rule.public:  # a wrong password is still a 401, but never a refusal of the route
        return status < 500 and code not in REFUSAL_CODES
    return status not in (401, 403, 404) and status < 500


@pytest.mark.parametrize("route", sorted(ROUTE_POLICIES))
async def test_route(world: World, route: str):
    method, _ = route.split(" ", 1)
    rule = ROUTE_POLICIES[route]
    failures = []
    for actor in ACTORS:
        call = await SAMPLES[route](world, actor)
        token = None if actor == ANON else world.accounts[actor].access_token
        if rule == Rule.signed_webhook:
            resp = await world.api.request(method, call.path, data=call.json if isinstance(call.json, dict) else None, json=None if isinstance(call.json, dict) else call.json, token=token)
        else:
            resp = await world.api.request(method, call.path, json=call.json, params=call.params, token=token)
        allowed = actor in expected_allowed(rule, call.own)
        ok = got_through(rule, resp.status, resp.error_code) if allowed else refused(rule, actor, resp.status)
        if not ok:
            failures.append(f"{actor}: expected {'through' if allowed else 'refused'}, got {resp.status} {resp.body}")
    assert not failures, f"{route} ({rule}):\n" + "\n".join(failures)


@pytest.mark.parametrize("event", sorted(EVENT_POLICIES))
async def test_event(world: World, event: str, connect, web):
    rule = EVENT_POLICIES[event]
    failures = []
    for actor in ACTORS:
        if actor == ANON:
            continue  # an anonymous socket never connects (test_sockets_refuse_anonymous_and_unapproved)
        try:
            sock = await connect(world.accounts[actor].access_token)
        except Exception:
            if actor in expected_allowed(rule, EVENT_SAMPLES[event](world, actor)[1]):
                failures.append(f"{actor}: could not connect")
            continue
        data, own = EVENT_SAMPLES[event](world, actor)
        ack = await sock.call(event, data)
        allowed = actor in expected_allowed(rule, own)
        code = (ack.get("error") or {}).get("code") if isinstance(ack, dict) else None
        through = isinstance(ack, dict) and (ack.get("ok") or code not in ("unauthorized", "forbidden", "not_found", "internal_error"))
        if through != allowed:
            failures.append(f"{actor}: expected {'through' if allowed else 'refused'}, got {ack}")
    assert not failures, f"{event} ({rule}):\n" + "\n".join(failures)


async def test_sockets_refuse_anonymous_and_unapproved(world: World, connect):
    for token in (None, "not-a-token", world.accounts[N].access_token):
        with pytest.raises(Exception):
            await connect(token)
