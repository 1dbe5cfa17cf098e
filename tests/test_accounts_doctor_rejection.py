"""A platform admin rejects a doctor's account with a reason: the doctor's sessions end, sign-in
answers 403 doctor_rejected with the reason, the doctor is emailed it once (through the real
SendGrid SDK to a local capture), and approving later is the way back."""

from __future__ import annotations

import uuid

import pytest

from tests.accounts_stack import accounts_stack  # noqa: F401
from tests.accounts_stack import email_text
from tests.accounts_stack import register_on
from tests.accounts_stack import stack_api  # noqa: F401
from tests.clients import Account
from tests.clients import Api
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.waiting import wait_until


async def signed_in_doctor(api: Api, admin: Account) -> Account:
    """A doctor the platform approved, signed in (so there is a session to end)."""
    user = await register_on(api, "doctor", name=f"Dr Reject {uuid.uuid4().hex[:6]}")
    assert (await api.post(f"/api/admin/doctors/{user['id']}/approve", token=admin.access_token)).status == 200
    return await login(api, user["email"])


async def doctor_ids(api: Api, admin: Account, status: str) -> list[str]:
    resp = await api.get("/api/admin/doctors", params={"status": status}, token=admin.access_token)
    assert resp.status == 200, resp.body
    return [d["id"] for d in resp.body["doctors"]]


async def rejection_notifications(api: Api, admin: Account, doctor_id: str) -> list[dict]:
    resp = await api.get("/api/admin/outbox", params={"kind": "doctor_account_rejected", "recipient": doctor_id}, token=admin.access_token)
    assert resp.status == 200, resp.body
    return resp.body["notifications"]


async def test_a_rejected_doctor_is_signed_out_cannot_sign_in_and_is_emailed_the_reason_once(stack_api, accounts_stack):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    doctor = await signed_in_doctor(stack_api, admin)
    assert (await stack_api.get("/api/me", token=doctor.access_token)).status == 200
    reason = "We could not confirm your medical licence."

    rejected = await stack_api.post(f"/api/admin/doctors/{doctor.id}/reject", {"reason": f"  {reason}  "}, token=admin.access_token)
    assert rejected.status == 200, rejected.body
    user = rejected.body["user"]
    assert user["approved"] is False and user["rejection_reason"] == reason and user["rejected_at"]

    # The session ended: its access token is refused as such (not only as a rejected doctor's), and its refresh token too.
    me = await stack_api.get("/api/me", token=doctor.access_token)
    assert me.status == 401 and me.error_code == "invalid_token", me.body
    refreshed = await stack_api.post("/api/auth/refresh", {"refresh_token": doctor.refresh_token})
    assert refreshed.status == 401, refreshed.body
    signin = await stack_api.post("/api/auth/login", {"email": doctor.email, "password": DEFAULT_PASSWORD})
    assert signin.status == 403 and signin.error_code == "doctor_rejected", signin.body
    assert reason in signin.body["error"]["message"]

    # The same decision again changes nothing and asks for no second email.
    again = await stack_api.post(f"/api/admin/doctors/{doctor.id}/reject", {"reason": reason}, token=admin.access_token)
    assert again.status == 200 and again.body["user"]["rejected_at"] == user["rejected_at"], again.body
    assert len(await rejection_notifications(stack_api, admin, doctor.id)) == 1
    provider = accounts_stack.provider

    async def sent() -> bool:
        return [n["status"] for n in await rejection_notifications(stack_api, admin, doctor.id)] in (["sent"], ["delivered"])

    await wait_until(sent, what="the rejection email sent")
    # The doctor's only other email is the address verification sent at registration.
    assert sum(reason in email_text(m) for m in provider.sent_to(doctor.email)) == 1


async def test_the_doctors_list_tells_pending_approved_and_rejected_apart(stack_api, accounts_stack):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    pending = await register_on(stack_api, "doctor")
    to_reject = await register_on(stack_api, "doctor")
    approved = await signed_in_doctor(stack_api, admin)
    assert (await stack_api.post(f"/api/admin/doctors/{to_reject['id']}/reject", {"reason": "Not a doctor."}, token=admin.access_token)).status == 200

    waiting = await doctor_ids(stack_api, admin, "pending")
    assert pending["id"] in waiting and to_reject["id"] not in waiting and approved.id not in waiting
    rejected = await stack_api.get("/api/admin/doctors", params={"status": "rejected"}, token=admin.access_token)
    rows = {d["id"]: d for d in rejected.body["doctors"]}
    assert to_reject["id"] in rows and pending["id"] not in rows and approved.id not in rows
    assert rows[to_reject["id"]]["rejection_reason"] == "Not a doctor."
    assert approved.id in await doctor_ids(stack_api, admin, "approved")
    assert {pending["id"], to_reject["id"], approved.id} <= set(await doctor_ids(stack_api, admin, "all"))
    bad = await stack_api.get("/api/admin/doctors", params={"status": "refused"}, token=admin.access_token)
    assert bad.status == 422 and bad.body["error"]["field"] == "status", bad.body

    # The users list's statuses tell them apart the same way.
    for status, member, other in (("pending", pending, to_reject), ("rejected", to_reject, pending)):
        for user, listed in ((member, True), (other, False)):
            page = await stack_api.get("/api/admin/users", params={"status": status, "q": user["email"]}, token=admin.access_token)
            assert page.status == 200, page.body
            assert (user["id"] in {u["id"] for u in page.body["users"]}) is listed, (status, user["email"], page.body)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"reason": 7}])
async def test_a_rejection_needs_a_reason_of_1_to_500_characters(stack_api, accounts_stack, body):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    doctor = await register_on(stack_api, "doctor")
    resp = await stack_api.post(f"/api/admin/doctors/{doctor['id']}/reject", body, token=admin.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "reason", resp.body
    assert doctor["id"] in await doctor_ids(stack_api, admin, "pending")


async def test_only_a_platform_admin_rejects_and_only_a_doctor(stack_api, accounts_stack):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    doctor = await register_on(stack_api, "doctor")
    colleague = await signed_in_doctor(stack_api, admin)
    patient = await login(stack_api, (await register_on(stack_api))["email"])
    body = {"reason": "No licence."}
    for who in (colleague, patient):
        resp = await stack_api.post(f"/api/admin/doctors/{doctor['id']}/reject", body, token=who.access_token)
        assert resp.status == 403, resp.body
    assert (await stack_api.post(f"/api/admin/doctors/{doctor['id']}/reject", body)).status == 401
    for unknown in ("0" * 24, "not-an-id", patient.id):
        resp = await stack_api.post(f"/api/admin/doctors/{unknown}/reject", body, token=admin.access_token)
        assert resp.status == 404 and resp.error_code == "not_found", (unknown, resp.body)
    assert doctor["id"] in await doctor_ids(stack_api, admin, "pending")


async def test_approving_a_rejected_doctor_clears_the_rejection(stack_api, accounts_stack):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    doctor = await register_on(stack_api, "doctor")
    assert (await stack_api.post(f"/api/admin/doctors/{doctor['id']}/reject", {"reason": "Licence unreadable."}, token=admin.access_token)).status == 200
    assert (await stack_api.post("/api/auth/login", {"email": doctor["email"], "password": DEFAULT_PASSWORD})).error_code == "doctor_rejected"

    approved = await stack_api.post(f"/api/admin/doctors/{doctor['id']}/approve", token=admin.access_token)
    assert approved.status == 200, approved.body
    assert approved.body["user"]["approved"] is True and approved.body["user"]["rejected_at"] is None and approved.body["user"]["rejection_reason"] is None
    signed_in = await login(stack_api, doctor["email"])
    assert (await stack_api.get("/api/me", token=signed_in.access_token)).status == 200
    assert doctor["id"] not in await doctor_ids(stack_api, admin, "rejected")
    assert doctor["id"] in await doctor_ids(stack_api, admin, "approved")
