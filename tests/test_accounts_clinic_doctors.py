"""Doctors joining clinics: a doctor's clinic_id is a request the clinic's admin approves or rejects
(the doctor is emailed the decision, through the real SendGrid SDK to a local capture); a clinic's
statistics and audit log cover that clinic only."""

from __future__ import annotations

import asyncio
import uuid


from tests.accounts_stack import accounts_stack  # noqa: F401
from tests.accounts_stack import stack_api  # noqa: F401
from tests.accounts_stack import email_text
from tests.accounts_stack import link_token
from tests.accounts_stack import next_message
from tests.accounts_stack import register_on
from tests.booking_support import ALL_DAY
from tests.booking_support import future_day
from tests.booking_support import local_slot
from tests.booking_support import make_clinic
from tests.clients import Account
from tests.clients import Api
from tests.conftest import login
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.test_accounts_clinics import approved_clinic_admin
from tests.waiting import wait_until


async def verified_doctor(api: Api, provider, admin: Account) -> Account:
    """A doctor whose email is verified (so the decision can be emailed) and whose account the platform approved."""
    user = await register_on(api, "doctor", name=f"Dr Join {uuid.uuid4().hex[:6]}")
    token = link_token(email_text(await next_message(provider, user["email"])), "verify-email")
    assert (await api.post("/api/auth/email/verify", {"token": token})).status == 200
    assert (await api.post(f"/api/admin/doctors/{user['id']}/approve", token=admin.access_token)).status == 200
    return await login(api, user["email"])


async def listed_at(api: Api, clinic_id: str, doctor_id: str, token: str) -> bool:
    resp = await api.get("/api/doctors", params={"clinic_id": clinic_id}, token=token)
    assert resp.status == 200, resp.body
    return doctor_id in {d["id"] for d in resp.body["doctors"]}


async def test_a_doctor_who_asks_to_join_is_listed_and_bookable_only_once_the_clinic_admin_approves(stack_api, accounts_stack):
    provider = accounts_stack.provider
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, clinic_admin = await approved_clinic_admin(stack_api, admin)
    clinic_id = clinic["clinic_id"]
    doctor = await verified_doctor(stack_api, provider, admin)
    patient = await login(stack_api, (await register_on(stack_api))["email"])

    asked = await stack_api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinic_id, "specialties": ["Cardiology"], "bio": "Hearts."}, token=doctor.access_token)
    assert asked.status == 200, asked.body
    assert asked.body["doctor"] is None and asked.body["clinic_request"]["status"] == "pending"
    assert not await listed_at(stack_api, clinic_id, doctor.id, patient.access_token)
    assert (await stack_api.get(f"/api/doctors/{doctor.id}/slots", params={"from": str(future_day()), "to": str(future_day())}, token=patient.access_token)).status == 404
    pending = await stack_api.get(f"/api/clinics/{clinic_id}/doctors", params={"status": "pending"}, token=clinic_admin.access_token)
    assert pending.status == 200 and [d["doctor_id"] for d in pending.body["doctors"]] == [doctor.id]
    assert pending.body["doctors"][0]["specialties"] == ["cardiology"] and pending.body["doctors"][0]["account_approved"] is True

    approved = await stack_api.post(f"/api/clinics/{clinic_id}/doctors/{doctor.id}/approve", token=clinic_admin.access_token)
    assert approved.status == 200 and approved.body["doctor"]["status"] == "approved", approved.body
    assert (await stack_api.post(f"/api/clinics/{clinic_id}/doctors/{doctor.id}/approve", token=clinic_admin.access_token)).status == 404
    assert await listed_at(stack_api, clinic_id, doctor.id, patient.access_token)
    profile = (await stack_api.get(f"/api/doctors/{doctor.id}", token=patient.access_token)).body["doctor"]
    assert profile["clinic_id"] == clinic_id and profile["timezone"] == "Europe/Lisbon" and profile["bio"] == "Hearts."
    members = await stack_api.get(f"/api/clinics/{clinic_id}/doctors", params={"status": "approved"}, token=clinic_admin.access_token)
    assert [d["doctor_id"] for d in members.body["doctors"]] == [doctor.id]
    assert (await stack_api.get(f"/api/clinics/{clinic_id}/doctors", token=clinic_admin.access_token)).body["doctors"] == []

    hours = {"slot_minutes": 30, "weekly": ALL_DAY}
    assert (await stack_api.put(f"/api/doctors/{doctor.id}/availability", hours, token=doctor.access_token)).status == 200
    body = {"doctor_id": doctor.id, "start": local_slot(future_day(), "10:00", "Europe/Lisbon"), "client_id": uuid.uuid4().hex}
    booked = await stack_api.post("/api/appointments", body, token=patient.access_token)
    assert booked.status == 201 and booked.body["appointment"]["clinic_id"] == clinic_id, booked.body
    approval = f"{clinic['clinic']['name']} approved your request"
    await wait_until(lambda: any(approval in email_text(m) for m in provider.sent_to(doctor.email)), what="the approval email")


async def test_a_rejected_doctor_is_told_why_and_stays_at_their_clinic(stack_api, accounts_stack):
    provider = accounts_stack.provider
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, clinic_admin = await approved_clinic_admin(stack_api, admin)
    current = await make_clinic(stack_api, admin)
    doctor = await verified_doctor(stack_api, provider, admin)
    # A platform admin places a doctor at once.
    placed = await stack_api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": current["id"], "specialties": ["gp"]}, token=admin.access_token)
    assert placed.status == 200 and placed.body["doctor"]["clinic_id"] == current["id"]

    asked = await stack_api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinic["clinic_id"], "fee": 60}, token=doctor.access_token)
    assert asked.status == 200 and asked.body["clinic_request"]["status"] == "pending"
    assert asked.body["doctor"]["clinic_id"] == current["id"] and asked.body["doctor"]["fee"] == 60  # the rest applies at once
    reason = "We have no room for another general practitioner."
    rejected = await stack_api.post(f"/api/clinics/{clinic['clinic_id']}/doctors/{doctor.id}/reject", {"reason": reason}, token=clinic_admin.access_token)
    assert rejected.status == 200 and rejected.body["doctor"]["status"] == "rejected"
    assert (await stack_api.post(f"/api/clinics/{clinic['clinic_id']}/doctors/{doctor.id}/reject", {"reason": ""}, token=clinic_admin.access_token)).status == 422

    await wait_until(lambda: any(reason in email_text(m) and "did not approve" in email_text(m) for m in provider.sent_to(doctor.email)), what="the rejection email")
    listed = await stack_api.get(f"/api/clinics/{clinic['clinic_id']}/doctors", params={"status": "rejected"}, token=clinic_admin.access_token)
    assert [(d["doctor_id"], d["reason"]) for d in listed.body["doctors"]] == [(doctor.id, reason)]
    assert (await stack_api.get(f"/api/doctors/{doctor.id}", token=doctor.access_token)).body["doctor"]["clinic_id"] == current["id"]
    assert not await listed_at(stack_api, clinic["clinic_id"], doctor.id, doctor.access_token)


async def test_only_the_clinics_own_admin_or_a_platform_admin_decides(stack_api, accounts_stack):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, _ = await approved_clinic_admin(stack_api, admin)
    _, other_admin = await approved_clinic_admin(stack_api, admin)
    doctor = await verified_doctor(stack_api, accounts_stack.provider, admin)
    clinic_id = clinic["clinic_id"]
    assert (await stack_api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinic_id, "specialties": ["gp"]}, token=doctor.access_token)).status == 200

    for path in (f"/api/clinics/{clinic_id}/doctors", f"/api/clinics/{clinic_id}/stats", f"/api/clinics/{clinic_id}/audit"):
        assert (await stack_api.get(path, token=other_admin.access_token)).status == 403, path
        assert (await stack_api.get(path, token=doctor.access_token)).status == 403, path
    assert (await stack_api.post(f"/api/clinics/{clinic_id}/doctors/{doctor.id}/approve", token=other_admin.access_token)).status == 403
    assert (await stack_api.post(f"/api/clinics/{clinic_id}/doctors/{doctor.id}/approve", token=doctor.access_token)).status == 403
    # The platform admin keeps every power.
    approved = await stack_api.post(f"/api/clinics/{clinic_id}/doctors/{doctor.id}/approve", token=admin.access_token)
    assert approved.status == 200 and approved.body["doctor"]["status"] == "approved"


async def test_a_clinics_statistics_and_audit_log_cover_its_own_doctors_only(stack_api, accounts_stack):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, clinic_admin = await approved_clinic_admin(stack_api, admin)
    clinic_id = clinic["clinic_id"]
    other = await make_clinic(stack_api, admin)
    ours = await verified_doctor(stack_api, accounts_stack.provider, admin)
    theirs = await verified_doctor(stack_api, accounts_stack.provider, admin)
    patient = await login(stack_api, (await register_on(stack_api))["email"])
    assert (await stack_api.patch(f"/api/doctors/{ours.id}", {"clinic_id": clinic_id, "specialties": ["gp"]}, token=ours.access_token)).status == 200
    assert (await stack_api.post(f"/api/clinics/{clinic_id}/doctors/{ours.id}/approve", token=clinic_admin.access_token)).status == 200
    assert (await stack_api.patch(f"/api/doctors/{theirs.id}", {"clinic_id": other["id"], "specialties": ["gp"]}, token=admin.access_token)).status == 200
    day = future_day(2)
    appointments = {}
    for doctor, timezone in ((ours, "Europe/Lisbon"), (theirs, "UTC")):
        assert (await stack_api.put(f"/api/doctors/{doctor.id}/availability", {"slot_minutes": 30, "weekly": ALL_DAY}, token=doctor.access_token)).status == 200
        for hour in ("14:00", "15:00") if doctor is theirs else ("10:00",):
            body = {"doctor_id": doctor.id, "start": local_slot(day, hour, timezone), "client_id": uuid.uuid4().hex}
            resp = await stack_api.post("/api/appointments", body, token=patient.access_token)
            assert resp.status == 201, resp.body
            appointments[doctor.id] = resp.body["appointment"]["id"]
        # Each doctor opens the appointment: an audited read of the patient's data.
        assert (await stack_api.get(f"/api/appointments/{appointments[doctor.id]}", token=doctor.access_token)).status == 200

    stats = await stack_api.get(f"/api/clinics/{clinic_id}/stats", token=clinic_admin.access_token)
    assert stats.status == 200, stats.body
    assert sum(d["total"] for d in stats.body["appointments_per_day"]) == 1
    everyone = await stack_api.get("/api/admin/stats", token=admin.access_token)
    assert sum(d["total"] for d in everyone.body["appointments_per_day"]) >= 3

    log = await stack_api.get(f"/api/clinics/{clinic_id}/audit", token=clinic_admin.access_token)
    assert log.status == 200, log.body
    seen = {(e["actor"]["id"] if e["actor"] else None, e["action"]) for e in log.body["entries"]}
    assert (ours.id, "appointment.read") in seen
    assert (ours.id, "clinic.doctor_requested") in seen and (clinic_admin.id, "clinic.doctor_approved") in seen
    assert not any(actor == theirs.id for actor, _ in seen)
    page = await stack_api.get(f"/api/clinics/{clinic_id}/audit", params={"limit": "1"}, token=clinic_admin.access_token)
    assert len(page.body["entries"]) == 1 and page.body["next_before"]
    assert (await stack_api.get("/api/admin/audit", params={"actor_id": theirs.id}, token=admin.access_token)).body["entries"]


async def test_my_clinic_is_the_clinic_of_my_latest_appointment_with_its_branding(stack_api, accounts_stack):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, clinic_admin = await approved_clinic_admin(stack_api, admin)
    clinic_id = clinic["clinic_id"]
    assert (await stack_api.put(f"/api/clinics/{clinic_id}/branding", {"brand_color": "#7a1f5c"}, token=clinic_admin.access_token)).status == 200
    doctor = await verified_doctor(stack_api, accounts_stack.provider, admin)
    assert (await stack_api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinic_id, "specialties": ["gp"]}, token=admin.access_token)).status == 200
    assert (await stack_api.put(f"/api/doctors/{doctor.id}/availability", {"slot_minutes": 30, "weekly": ALL_DAY}, token=doctor.access_token)).status == 200
    patient = await login(stack_api, (await register_on(stack_api))["email"])
    assert (await stack_api.get("/api/me/clinic", token=patient.access_token)).body == {"clinic": None, "branding": None, "clinic_request": None}
    body = {"doctor_id": doctor.id, "start": local_slot(future_day(), "10:00", "Europe/Lisbon"), "client_id": uuid.uuid4().hex}
    assert (await stack_api.post("/api/appointments", body, token=patient.access_token)).status == 201
    mine = await stack_api.get("/api/me/clinic", token=patient.access_token)
    assert mine.status == 200 and mine.body["clinic"]["id"] == clinic_id and mine.body["branding"]["brand_color"] == "#7a1f5c"


async def test_requests_sent_at_once_leave_one_waiting_which_the_doctor_sees_later(stack_api, accounts_stack):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinics = [(await approved_clinic_admin(stack_api, admin))[0]["clinic_id"] for _ in range(2)]
    doctor = await verified_doctor(stack_api, accounts_stack.provider, admin)
    answers = await asyncio.gather(*(
        stack_api.patch(f"/api/doctors/{doctor.id}", {"clinic_id": clinics[i % 2], "specialties": ["gp"]}, token=doctor.access_token) for i in range(6)
    ))
    assert all(a.status == 200 or a.error_code == "request_conflict" for a in answers), [a.body for a in answers]
    waiting = [
        d["doctor_id"]
        for clinic_id in clinics
        for d in (await stack_api.get(f"/api/clinics/{clinic_id}/doctors", params={"status": "pending"}, token=admin.access_token)).body["doctors"]
    ]
    assert waiting == [doctor.id]  # one request stands, whichever came last
    mine = (await stack_api.get("/api/me/clinic", token=doctor.access_token)).body
    assert mine["clinic"] is None and mine["clinic_request"]["status"] == "pending" and mine["clinic_request"]["clinic_id"] in clinics
