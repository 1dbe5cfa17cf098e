"""Clinic onboarding and clinic staff: applications decided by a platform admin, clinic admins
inviting receptionists by email, clinic scope, removing staff; emails captured through SendGrid."""

from __future__ import annotations

import uuid

import aiohttp

from tests.accounts_stack import accounts_stack  # noqa: F401
from tests.accounts_stack import stack_api  # noqa: F401
from tests.accounts_stack import email_text
from tests.accounts_stack import link_token
from tests.accounts_stack import next_message
from tests.accounts_stack import register_on
from tests.clients import Api
from tests.clients import unique_email
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.waiting import wait_until

NEW_PASSWORD = "front-desk-2027"




def application(clinic_name: str | None = None) -> dict:
    return {
        "clinic": {"name": clinic_name or f"Harbour {uuid.uuid4().hex[:6]}", "timezone": "Europe/Lisbon", "address": "1 Quay", "phone": "+351 21 000 0000"},
        "applicant": {"name": "Ana Lima", "email": unique_email("applicant"), "password": DEFAULT_PASSWORD},
    }


async def approved_clinic_admin(api: Api, admin) -> tuple[dict, object]:
    body = application()
    resp = await api.post("/api/clinic-applications", body)
    assert resp.status == 201, resp.body
    approved = await api.post(f"/api/admin/clinic-applications/{resp.body['application']['id']}/approve", token=admin.access_token)
    assert approved.status == 200, approved.body
    return approved.body["application"], await login(api, body["applicant"]["email"])


async def test_an_approved_application_creates_the_clinic_and_its_admin(stack_api, accounts_stack):
    provider = accounts_stack.provider
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    body = application()
    resp = await stack_api.post("/api/clinic-applications", body)
    assert resp.status == 201 and resp.body["application"]["status"] == "pending"
    email = body["applicant"]["email"]
    waiting = await stack_api.post("/api/auth/login", {"email": email, "password": DEFAULT_PASSWORD})
    assert waiting.status == 403 and waiting.error_code == "account_deactivated"
    taken = await stack_api.post("/api/clinic-applications", {**application(), "applicant": body["applicant"]})
    assert taken.status == 409 and taken.error_code == "email_taken"

    pending = await stack_api.get("/api/admin/clinic-applications", params={"status": "pending"}, token=admin.access_token)
    assert resp.body["application"]["id"] in {a["id"] for a in pending.body["applications"]}
    application_id = resp.body["application"]["id"]
    approved = await stack_api.post(f"/api/admin/clinic-applications/{application_id}/approve", token=admin.access_token)
    assert approved.status == 200 and approved.body["application"]["status"] == "approved" and approved.body["application"]["clinic_id"]
    twice = await stack_api.post(f"/api/admin/clinic-applications/{application_id}/approve", token=admin.access_token)
    assert twice.status == 409 and twice.error_code == "already_decided"

    clinic_admin = await login(stack_api, email)
    assert clinic_admin.user["role"] == "clinic_admin" and clinic_admin.user["clinic_id"] == approved.body["application"]["clinic_id"]
    clinics = await stack_api.get("/api/clinics", token=clinic_admin.access_token)
    assert body["clinic"]["name"] in {c["name"] for c in clinics.body["clinics"]}
    await wait_until(lambda: any("approved" in email_text(m) for m in provider.sent_to(email)), what="the approval email")
    texts = [email_text(m) for m in provider.sent_to(email)]
    assert any("verify-email" in t for t in texts) and any("Thank you for applying" in t for t in texts)


async def test_a_rejected_applicant_is_told_why_and_stays_signed_out(stack_api, accounts_stack):
    provider = accounts_stack.provider
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    body = application()
    resp = await stack_api.post("/api/clinic-applications", body)
    rejected = await stack_api.post(
        f"/api/admin/clinic-applications/{resp.body['application']['id']}/reject", {"reason": "We could not confirm the licence."}, token=admin.access_token
    )
    assert rejected.status == 200 and rejected.body["application"]["status"] == "rejected"
    email = body["applicant"]["email"]
    await wait_until(lambda: any("could not confirm the licence" in email_text(m) for m in provider.sent_to(email)), what="the rejection email")
    assert (await stack_api.post("/api/auth/login", {"email": email, "password": DEFAULT_PASSWORD})).status == 403


async def test_a_clinic_admin_invites_a_receptionist_who_picks_a_password_from_the_email(stack_api, accounts_stack):
    provider = accounts_stack.provider
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, clinic_admin = await approved_clinic_admin(stack_api, admin)
    desk_email = unique_email("desk")
    invited = await stack_api.post(
        f"/api/clinics/{clinic['clinic_id']}/staff", {"email": desk_email, "name": "Rita Desk", "role": "receptionist"}, token=clinic_admin.access_token
    )
    assert invited.status == 201 and invited.body["user"]["role"] == "receptionist"
    text = email_text(await next_message(provider, desk_email))
    assert "invited to join" in text
    reset = await stack_api.post("/api/auth/password/reset", {"token": link_token(text, "reset-password"), "password": NEW_PASSWORD})
    assert reset.status == 200 and reset.body["user"]["email_verified"] is True
    desk = await login(stack_api, desk_email, NEW_PASSWORD)
    assert desk.user["clinic_id"] == clinic["clinic_id"]

    staff = await stack_api.get(f"/api/clinics/{clinic['clinic_id']}/staff", token=clinic_admin.access_token)
    assert {u["email"] for u in staff.body["staff"]} == {clinic_admin.email, desk_email}
    # A receptionist does not run the clinic's staff.
    refused = await stack_api.post(f"/api/clinics/{clinic['clinic_id']}/staff", {"email": unique_email(), "role": "receptionist"}, token=desk.access_token)
    assert refused.status == 403
    removed = await stack_api.request("DELETE", f"/api/clinics/{clinic['clinic_id']}/staff/{desk.id}", token=clinic_admin.access_token)
    assert removed.status == 200 and removed.body["user"]["active"] is False
    assert (await stack_api.get("/api/me", token=desk.access_token)).status == 401
    assert (await stack_api.post("/api/auth/login", {"email": desk_email, "password": NEW_PASSWORD})).status == 403


async def test_a_clinic_admin_acts_only_on_their_own_clinic(stack_api):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    mine, clinic_admin = await approved_clinic_admin(stack_api, admin)
    other, _ = await approved_clinic_admin(stack_api, admin)
    faq = {"entries": [{"question": "Is there parking?", "answer": "Yes, behind the clinic."}]}
    assert (await stack_api.put(f"/api/clinics/{mine['clinic_id']}/faq", faq, token=clinic_admin.access_token)).status == 200
    assert (await stack_api.put(f"/api/clinics/{other['clinic_id']}/faq", faq, token=clinic_admin.access_token)).status == 403
    assert (await stack_api.get(f"/api/clinics/{other['clinic_id']}/staff", token=clinic_admin.access_token)).status == 403
    invite = {"email": unique_email(), "role": "receptionist"}
    assert (await stack_api.post(f"/api/clinics/{other['clinic_id']}/staff", invite, token=clinic_admin.access_token)).status == 403
    # The platform admin keeps every power.
    assert (await stack_api.get(f"/api/clinics/{other['clinic_id']}/staff", token=admin.access_token)).status == 200
    assert (await stack_api.get("/api/admin/clinic-applications", token=clinic_admin.access_token)).status == 403


SAFE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#0a7f5c"/></svg>'
UNSAFE_SVGS = [
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject></svg>',
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="https://tracker.example/x.png"/></svg>',
    b'<!DOCTYPE svg [<!ENTITY lol "lol">]><svg xmlns="http://www.w3.org/2000/svg"><text>&lol;</text></svg>',
]
ONE_PIXEL_PNG = bytes.fromhex(  # one white pixel, as Pillow writes it
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c63f8ffff3f0005fe02fe0def46b80000000049454e44ae426082"
)


async def upload_logo(api: Api, clinic_id: str, token: str, data: bytes, filename: str, content_type: str) -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type=content_type)
    async with api.session.post(f"{api.base_url}/api/clinics/{clinic_id}/logo", data=form, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


async def test_a_clinic_admin_brands_the_clinic_with_a_checked_logo_and_a_colour(stack_api):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic, clinic_admin = await approved_clinic_admin(stack_api, admin)
    other, other_admin = await approved_clinic_admin(stack_api, admin)
    clinic_id, token = clinic["clinic_id"], clinic_admin.access_token

    status, body = await upload_logo(stack_api, clinic_id, token, ONE_PIXEL_PNG, "logo.svg", "image/svg+xml")
    assert status == 200 and body["branding"]["logo_url"], body
    async with stack_api.session.get(stack_api.base_url + body["branding"]["logo_url"]) as resp:  # no token: an <img> sends none
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/png" and await resp.read() == ONE_PIXEL_PNG
    status, body = await upload_logo(stack_api, clinic_id, token, SAFE_SVG, "logo.png", "image/png")
    assert status == 200
    async with stack_api.session.get(stack_api.base_url + body["branding"]["logo_url"]) as resp:
        assert resp.headers["Content-Type"].startswith("image/svg+xml") and "sandbox" in resp.headers["Content-Security-Policy"]
    for unsafe in UNSAFE_SVGS:
        status, body = await upload_logo(stack_api, clinic_id, token, unsafe, "logo.svg", "image/svg+xml")
        assert status == 422 and body["error"]["code"] == "invalid_logo", (unsafe, body)
    status, body = await upload_logo(stack_api, clinic_id, token, b"GIF89a not a logo", "logo.png", "image/png")
    assert status == 422
    status, body = await upload_logo(stack_api, clinic_id, token, PNG_HEADER_ONLY + b"\0" * (512 * 1024), "big.png", "image/png")
    assert status == 413 and body["error"]["code"] == "logo_too_large"
    status, _ = await upload_logo(stack_api, clinic_id, other_admin.access_token, ONE_PIXEL_PNG, "logo.png", "image/png")
    assert status == 403

    colour = await stack_api.put(f"/api/clinics/{clinic_id}/branding", {"brand_color": "#0A7F5C"}, token=token)
    assert colour.status == 200 and colour.body["branding"]["brand_color"] == "#0a7f5c"
    assert (await stack_api.put(f"/api/clinics/{clinic_id}/branding", {"brand_color": "teal"}, token=token)).status == 422
    assert (await stack_api.put(f"/api/clinics/{other['clinic_id']}/branding", {"brand_color": "#000000"}, token=token)).status == 403
    patient = await login(stack_api, (await register_on(stack_api))["email"])
    seen = await stack_api.get(f"/api/clinics/{clinic_id}/branding", token=patient.access_token)
    assert seen.body["branding"]["brand_color"] == "#0a7f5c" and seen.body["branding"]["logo_url"]


PNG_HEADER_ONLY = ONE_PIXEL_PNG[:8]
