"""Email verification, password reset and change, deactivation and the admins' user list, on a
stack whose emails go through the real SendGrid SDK to a local capture server."""

from __future__ import annotations

import uuid

import pytest
from beanie import PydanticObjectId

from engage.actions.notifications import request_notification
from engage.models.account import AccountSecret
from engage.models.notification import Notification
from tests.accounts_stack import accounts_stack  # noqa: F401
from tests.accounts_stack import stack_api  # noqa: F401
from tests.accounts_stack import REDIS_DB
from tests.accounts_stack import email_text
from tests.accounts_stack import link_token
from tests.accounts_stack import next_message
from tests.accounts_stack import register_on
from tests.accounts_stack import six_digits
from tests.clients import Api
from tests.clients import unique_email
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login
from tests.notify_stack import redis_db_url
from tests.notify_stack import redis_of
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.servers import start_engage
from tests.test_sessions import disconnected
from tests.waiting import wait_until

# The tests read stored documents through Beanie, which the db fixture initialises in this process.
pytestmark = pytest.mark.usefixtures("db")

NEW_PASSWORD = "battery-staple-77"


@pytest.fixture(scope="module")
async def on_accounts_stack(accounts_stack, db, settings):
    """This process's Redis is the stack's (request_notification enqueues where its worker listens)."""
    async with redis_of(settings, accounts_stack.env["REDIS_URL"]):
        yield accounts_stack


async def test_registration_emails_a_link_that_verifies_once_and_the_outbox_never_shows_it(stack_api, accounts_stack, db):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    assert user["email_verified"] is False
    text = email_text(await next_message(provider, user["email"]))
    token = link_token(text, "verify-email")
    code = six_digits(text)

    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    outbox = await stack_api.get("/api/admin/outbox", params={"recipient": user["id"]}, token=admin.access_token)
    assert outbox.status == 200 and outbox.body["notifications"], outbox.body
    listing = str(outbox.body)
    assert token not in listing and code not in listing and "[redacted]" in listing

    resp = await stack_api.post("/api/auth/email/verify", {"token": token})
    assert resp.status == 200 and resp.body["user"]["email_verified"] is True
    again = await stack_api.post("/api/auth/email/verify", {"token": token})
    assert again.status == 400 and again.error_code == "invalid_link"
    assert token not in str(resp.body)


async def test_the_code_verifies_the_signed_in_user_and_five_wrong_codes_end_it(stack_api, accounts_stack):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    code = six_digits(email_text(await next_message(provider, user["email"])))
    account = await login(stack_api, user["email"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    anonymous = await stack_api.post("/api/auth/email/verify", {"code": code})
    assert anonymous.status == 401  # a bare code names no account
    for _ in range(5):
        resp = await stack_api.post("/api/auth/email/verify", {"code": wrong}, token=account.access_token)
        assert resp.status == 400 and resp.error_code == "invalid_code", resp.body
    spent = await stack_api.post("/api/auth/email/verify", {"code": code}, token=account.access_token)
    assert spent.status == 429 and spent.error_code == "too_many_attempts"


async def test_a_resent_code_verifies_and_resending_waits_its_cooldown(stack_api, accounts_stack):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    first = six_digits(email_text(await next_message(provider, user["email"])))
    account = await login(stack_api, user["email"])
    assert (await stack_api.post("/api/auth/email/resend", token=account.access_token)).status == 202
    too_soon = await stack_api.post("/api/auth/email/resend", token=account.access_token)
    assert too_soon.status == 429 and too_soon.headers.get("Retry-After")
    second = six_digits(email_text(await next_message(provider, user["email"], 2)))
    old = await stack_api.post("/api/auth/email/verify", {"code": first}, token=account.access_token)
    assert old.status == 400 or first == second  # the resend replaced the first code
    resp = await stack_api.post("/api/auth/email/verify", {"code": second}, token=account.access_token)
    assert resp.status == 200 and resp.body["user"]["email_verified"] is True
    done = await stack_api.post("/api/auth/email/resend", token=account.access_token)
    assert done.status == 409 and done.error_code == "already_verified"


async def test_an_unverified_address_gets_only_account_emails(on_accounts_stack, stack_api, db):
    user = await register_on(stack_api)
    (made,) = await request_notification(
        recipient_id=user["id"],
        kind="advice_ready",
        idempotency_key=f"acc:{uuid.uuid4().hex}",
        context={"advice_id": "a"},
    )

    async def settled():
        doc = await Notification.get(made.id)
        return doc if doc.status.value != "queued" else None

    doc = await wait_until(settled)
    assert doc.status.value == "suppressed" and doc.suppressed_reason == "address_unverified"


async def test_forgot_password_answers_alike_and_the_link_resets_once_ending_every_session(stack_api, accounts_stack, connect):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    account = await login(stack_api, user["email"])
    socket = await connect(account.access_token, url=accounts_stack.web.url)

    unknown = await stack_api.post("/api/auth/password/forgot", {"email": unique_email("nobody")})
    known = await stack_api.post("/api/auth/password/forgot", {"email": user["email"].upper()})
    assert unknown.status == known.status == 202 and unknown.body == known.body
    text = email_text(await next_message(provider, user["email"], 2))  # the first was the verification
    assert "reset" in text.lower()
    token = link_token(text, "reset-password")

    weak = await stack_api.post("/api/auth/password/reset", {"token": token, "password": "short"})
    assert weak.status == 422 and weak.body["error"]["field"] == "password"
    resp = await stack_api.post("/api/auth/password/reset", {"token": token, "password": NEW_PASSWORD})
    assert resp.status == 200 and resp.body["user"]["email_verified"] is True
    await disconnected(socket)
    assert (await stack_api.post("/api/auth/refresh", {"refresh_token": account.refresh_token})).status == 401
    assert (await stack_api.get("/api/me", token=account.access_token)).status == 401
    assert (await stack_api.post("/api/auth/login", {"email": user["email"], "password": DEFAULT_PASSWORD})).status == 401
    await login(stack_api, user["email"], NEW_PASSWORD)
    reused = await stack_api.post("/api/auth/password/reset", {"token": token, "password": "another-pass-99"})
    assert reused.status == 400 and reused.error_code == "invalid_link"
    stored = await AccountSecret.find({"user_id": PydanticObjectId(user["id"]), "purpose": "password_reset"}).to_list()
    assert stored and all(token not in (s.token_hash or "") for s in stored)


async def test_forgot_password_sends_at_most_the_hourly_limit_per_email(stack_api, accounts_stack):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    sentinel = await register_on(stack_api)
    await next_message(provider, user["email"])
    for _ in range(7):
        assert (await stack_api.post("/api/auth/password/forgot", {"email": user["email"]})).status == 202
    assert (await stack_api.post("/api/auth/password/forgot", {"email": sentinel["email"]})).status == 202
    await next_message(provider, sentinel["email"], 2)
    # The sentinel's task ran after the others: every reset for the first address was issued by now.
    secrets = await AccountSecret.find({"user_id": PydanticObjectId(user["id"]), "purpose": "password_reset"}).count()
    assert secrets == 5
    await next_message(provider, user["email"], 1 + 5)
    resets = [m for m in provider.sent_to(user["email"]) if "reset-password" in email_text(m)]
    assert len(resets) == 5


async def test_changing_the_password_ends_the_other_sessions_only(stack_api, accounts_stack, connect):
    user = await register_on(stack_api)
    here = await login(stack_api, user["email"])
    there = await login(stack_api, user["email"])
    socket = await connect(there.access_token, url=accounts_stack.web.url)
    wrong = await stack_api.post(
        "/api/me/password",
        {"current_password": "not-my-password-1", "password": NEW_PASSWORD},
        token=here.access_token,
    )
    assert wrong.status == 401 and wrong.body["error"]["field"] == "current_password"
    resp = await stack_api.post(
        "/api/me/password",
        {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD},
        token=here.access_token,
    )
    assert resp.status == 200, resp.body
    await disconnected(socket)
    assert (await stack_api.post("/api/auth/refresh", {"refresh_token": there.refresh_token})).status == 401
    assert (await stack_api.get("/api/me", token=here.access_token)).status == 200
    assert (await stack_api.post("/api/auth/refresh", {"refresh_token": here.refresh_token})).status == 200


async def test_a_deactivated_doctor_is_signed_out_unlisted_and_refused_until_reactivated(stack_api, accounts_stack, connect):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    clinic = await stack_api.post(
        "/api/admin/clinics",
        {"name": f"Clinic {uuid.uuid4().hex[:6]}", "timezone": "UTC"},
        token=admin.access_token,
    )
    assert clinic.status == 201, clinic.body
    user = await register_on(stack_api, "doctor")
    assert (await stack_api.post(f"/api/admin/doctors/{user['id']}/approve", token=admin.access_token)).status == 200
    doctor = await login(stack_api, user["email"])
    profile = {"clinic_id": clinic.body["clinic"]["id"], "specialties": ["accounts"]}
    assert (await stack_api.patch(f"/api/doctors/{doctor.id}", profile, token=admin.access_token)).status == 200
    patient = await login(stack_api, (await register_on(stack_api))["email"])

    async def listed() -> bool:
        resp = await stack_api.get("/api/doctors", token=patient.access_token)
        return doctor.id in {d["id"] for d in resp.body["doctors"]}

    assert await listed()
    socket = await connect(doctor.access_token, url=accounts_stack.web.url)
    resp = await stack_api.post(
        f"/api/admin/users/{doctor.id}/deactivate",
        {"reason": "Left the practice"},
        token=admin.access_token,
    )
    assert resp.status == 200 and resp.body["user"]["active"] is False
    await disconnected(socket)
    assert (await stack_api.get("/api/me", token=doctor.access_token)).status == 401
    refused = await stack_api.post("/api/auth/login", {"email": doctor.email, "password": DEFAULT_PASSWORD})
    assert refused.status == 403 and refused.error_code == "account_deactivated"
    assert not await listed()
    assert (await stack_api.get(f"/api/doctors/{doctor.id}", token=patient.access_token)).status == 404

    assert (await stack_api.post(f"/api/admin/users/{doctor.id}/reactivate", token=admin.access_token)).status == 200
    await login(stack_api, doctor.email)
    assert await listed()


async def test_admins_page_through_users_by_search_role_and_status(stack_api):
    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    tag = uuid.uuid4().hex[:8]
    made = [await register_on(stack_api, name=f"Pager {tag} {i}") for i in range(3)]
    first = await stack_api.get("/api/admin/users", params={"q": tag, "limit": "2"}, token=admin.access_token)
    assert first.status == 200 and len(first.body["users"]) == 2 and first.body["next_cursor"]
    second = await stack_api.get(
        "/api/admin/users",
        params={"q": tag, "limit": "2", "cursor": first.body["next_cursor"]},
        token=admin.access_token,
    )
    assert len(second.body["users"]) == 1 and second.body["next_cursor"] is None
    assert {u["id"] for u in first.body["users"] + second.body["users"]} == {u["id"] for u in made}
    assert (await stack_api.post(f"/api/admin/users/{made[0]['id']}/deactivate", token=admin.access_token)).status == 200
    gone = await stack_api.get(
        "/api/admin/users",
        params={"q": tag, "status": "deactivated"},
        token=admin.access_token,
    )
    assert [u["id"] for u in gone.body["users"]] == [made[0]["id"]]
    doctors = await stack_api.get(
        "/api/admin/users",
        params={"q": tag, "role": "doctor"},
        token=admin.access_token,
    )
    assert doctors.body["users"] == []
    bad = await stack_api.get("/api/admin/users", params={"cursor": "nope"}, token=admin.access_token)
    assert bad.status == 422


async def test_sign_ups_from_one_address_are_limited(engage_environment, tmp_root, http_session):
    """A web process of its own (own Redis database) with a low limit: the 4th sign-up of the hour waits."""
    env = {
        **engage_environment,
        "REDIS_URL": redis_db_url(engage_environment["REDIS_URL"], REDIS_DB + 1),
        "ENGAGE_REGISTER_LIMIT_PER_ADDRESS_HOUR": "3",
    }
    proc = start_engage("web", env, tmp_root)
    try:
        api = Api(http_session, proc.url)
        for _ in range(3):
            await register_on(api)
        resp = await api.post(
            "/api/auth/register",
            {
                "email": unique_email(),
                "password": DEFAULT_PASSWORD,
                "name": "X",
                "role": "patient",
            },
        )
        assert resp.status == 429 and resp.headers.get("Retry-After")
    finally:
        proc.stop()
