"""Signing in with a code (email or verified phone) and phone verification, on a stack whose email
and SMS go through the real SendGrid and Twilio SDKs to a local capture server."""

from __future__ import annotations

import uuid

from beanie import PydanticObjectId

from engage.models.account import AccountSecret
from engage.models.notification import InboundSms
from engage.models.user import User
from tests.accounts_stack import accounts_stack  # noqa: F401
from tests.accounts_stack import stack_api  # noqa: F401
from tests.accounts_stack import REDIS_DB
from tests.accounts_stack import email_text
from tests.accounts_stack import next_message
from tests.accounts_stack import register_on
from tests.accounts_stack import six_digits
from tests.accounts_stack import sms_text
from tests.clients import Api
from tests.clients import unique_email
from tests.conftest import login
from tests.notify_stack import SMS_FROM
from tests.notify_stack import redis_db_url
from tests.notify_stack import twilio_signature
from tests.notify_stack import unique_phone
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.servers import start_engage
from tests.waiting import wait_until


# A short resend cooldown: a second account may ask for the same number's code soon after.
ACCOUNTS_STACK_ENV = {"ENGAGE_OTP_RESEND_SECONDS": "3"}


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def verified_phone(api: Api, provider, account, phone: str) -> None:
    """Set and verify the account's phone with the texted code (once the number's cooldown allows)."""

    async def asked():
        resp = await api.post("/api/me/phone", {"phone": phone}, token=account.access_token)
        assert resp.status in (202, 429), resp.body
        return resp.status == 202

    await wait_until(asked)
    count = len(provider.sent_to(phone, "twilio")) + 1
    code = six_digits(sms_text(await next_message(provider, phone, count, "twilio")))
    resp = await api.post("/api/me/phone/verify", {"code": code}, token=account.access_token)
    assert resp.status == 200 and resp.body["user"]["phone_verified"] is True, resp.body


async def test_an_emailed_code_signs_in_once_and_unknown_emails_answer_alike(stack_api, accounts_stack, db):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    await next_message(provider, user["email"])  # the verification email
    unknown = await stack_api.post("/api/auth/otp/start", {"email": unique_email("nobody")})
    known = await stack_api.post("/api/auth/otp/start", {"email": user["email"]})
    assert unknown.status == known.status == 202 and unknown.body == known.body
    message = await next_message(provider, user["email"], 2)
    code = six_digits(email_text(message))
    wrong = await stack_api.post("/api/auth/otp/verify", {"email": user["email"], "code": other_code(code)})
    assert wrong.status == 401 and wrong.error_code == "invalid_code"
    resp = await stack_api.post("/api/auth/otp/verify", {"email": user["email"], "code": code})
    assert resp.status == 200 and resp.body["access_token"] and resp.body["user"]["email_verified"] is True
    assert (await stack_api.get("/api/me", token=resp.body["access_token"])).status == 200
    again = await stack_api.post("/api/auth/otp/verify", {"email": user["email"], "code": code})
    assert again.status == 401
    nobody = await stack_api.post("/api/auth/otp/verify", {"email": unique_email("nobody"), "code": code})
    assert nobody.status == 401 and nobody.body == wrong.body

    admin = await login(stack_api, ADMIN_EMAIL, ADMIN_PASSWORD)
    outbox = await stack_api.get("/api/admin/outbox", params={"recipient": user["id"], "kind": "sign_in_code_email"}, token=admin.access_token)
    assert outbox.body["notifications"] and code not in str(outbox.body)
    stored = await AccountSecret.find({"user_id": PydanticObjectId(user["id"]), "purpose": "sign_in_code"}).to_list()
    assert stored and all(code not in (s.code_hash or "") for s in stored)


async def test_five_wrong_codes_end_the_code_and_asking_again_waits_the_cooldown(stack_api, accounts_stack):
    provider = accounts_stack.provider
    user = await register_on(stack_api)
    await next_message(provider, user["email"])
    assert (await stack_api.post("/api/auth/otp/start", {"email": user["email"]})).status == 202
    too_soon = await stack_api.post("/api/auth/otp/start", {"email": user["email"]})
    assert too_soon.status == 429 and too_soon.headers.get("Retry-After")
    unknown = unique_email("nobody")
    assert (await stack_api.post("/api/auth/otp/start", {"email": unknown})).status == 202
    assert (await stack_api.post("/api/auth/otp/start", {"email": unknown})).status == 429  # alike for unknown emails
    code = six_digits(email_text(await next_message(provider, user["email"], 2)))
    for _ in range(5):
        assert (await stack_api.post("/api/auth/otp/verify", {"email": user["email"], "code": other_code(code)})).status == 401
    spent = await stack_api.post("/api/auth/otp/verify", {"email": user["email"], "code": code})
    assert spent.status == 429 and spent.error_code == "too_many_attempts"


async def test_phone_codes_go_only_to_verified_numbers_and_sign_in(stack_api, accounts_stack, db):
    provider = accounts_stack.provider
    unverified_phone, phone = unique_phone(), unique_phone()
    unverified = await register_on(stack_api, phone=unverified_phone)
    assert unverified["phone_verified"] is False
    # Unverified: the start answers as for any number, and no code is made for it.
    assert (await stack_api.post("/api/auth/otp/start", {"phone": unverified_phone})).status == 202

    user = await register_on(stack_api)
    account = await login(stack_api, user["email"])
    await verified_phone(stack_api, provider, account, phone)
    wrong = await stack_api.post("/api/me/phone/verify", {"code": "000000"}, token=account.access_token)
    assert wrong.status == 400 and wrong.error_code == "invalid_code"
    assert (await stack_api.post("/api/auth/otp/start", {"phone": phone})).status == 202
    text = sms_text(await next_message(provider, phone, 2, "twilio"))
    assert "sign-in code" in text
    resp = await stack_api.post("/api/auth/otp/verify", {"phone": phone, "code": six_digits(text)})
    assert resp.status == 200 and resp.body["user"]["id"] == user["id"]

    # Asked long before the verified number's code went out: the unverified one got nothing.
    assert not await AccountSecret.find({"user_id": PydanticObjectId(unverified["id"]), "purpose": "sign_in_code"}).count()
    assert provider.sent_to(unverified_phone) == []


async def test_a_verified_number_belongs_to_one_account_and_inbound_sms_match_only_it(stack_api, accounts_stack, db):
    provider = accounts_stack.provider
    phone = unique_phone()
    first = await login(stack_api, (await register_on(stack_api))["email"])
    second = await login(stack_api, (await register_on(stack_api))["email"])
    await verified_phone(stack_api, provider, first, phone)
    await verified_phone(stack_api, provider, second, phone)
    holders = await User.find({"phone": phone, "phone_verified": True}).to_list()
    assert [str(u.id) for u in holders] == [second.id]

    # An inbound text from the number is the verified holder's; from an unverified number, nobody's.
    unverified = unique_phone()
    await register_on(stack_api, phone=unverified)
    for number in (phone, unverified):
        form = {"MessageSid": "SM" + uuid.uuid4().hex, "From": number, "To": SMS_FROM, "Body": "hello?"}
        headers = {"X-Twilio-Signature": twilio_signature("/webhooks/twilio/sms", form)}
        async with stack_api.session.post(stack_api.base_url + "/webhooks/twilio/sms", data=form, headers=headers) as resp:
            assert resp.status == 200

    async def recorded():
        rows = await InboundSms.find({"from_number": {"$in": [phone, unverified]}}).to_list()
        return rows if len(rows) == 2 else None

    rows = {row.from_number: row for row in await wait_until(recorded)}
    assert str(rows[phone].user_id) == second.id
    assert rows[unverified].user_id is None


async def test_codes_are_capped_per_destination_and_per_address_a_day(engage_environment, tmp_root, http_session):
    """A web process of its own (own Redis database) with low caps and a 1 s cooldown."""
    env = {
        **engage_environment,
        "REDIS_URL": redis_db_url(engage_environment["REDIS_URL"], REDIS_DB + 2),
        "ENGAGE_OTP_RESEND_SECONDS": "1",
        "ENGAGE_OTP_DAILY_LIMIT_PER_DESTINATION": "2",
        "ENGAGE_OTP_DAILY_LIMIT_PER_ADDRESS": "6",
    }
    proc = start_engage("web", env, tmp_root)
    try:
        api = Api(http_session, proc.url)
        email = unique_email("capped")

        async def start_until_daily_cap():
            resp = await api.post("/api/auth/otp/start", {"email": email})
            return resp if resp.error_code == "daily_limit_reached" else None

        capped = await wait_until(start_until_daily_cap)
        assert capped.status == 429
        # Other destinations from the same address, until the address's cap.
        answers = [await api.post("/api/auth/otp/start", {"email": unique_email("other")}) for _ in range(8)]
        assert [r.status for r in answers].count(202) < 8 and answers[-1].status == 429
    finally:
        proc.stop()
