"""Two-factor sign-in: TOTP enrolment with a QR code, the mfa_token step, recovery codes, and
roles that must enrol (ENGAGE_REQUIRE_MFA_ROLES)."""

from __future__ import annotations

import time

import pyotp
import pytest
from beanie import PydanticObjectId

from engage.models.account import TotpEnrolment
from tests.clients import Api
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login
from tests.conftest import register
from tests.notify_stack import redis_db_url
from tests.servers import ADMIN_EMAIL
from tests.servers import ADMIN_PASSWORD
from tests.servers import start_engage


def code_at(secret: str, steps_ahead: int) -> str:
    """The code of a later time step: a code already accepted is never accepted again."""
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() + steps_ahead * totp.interval)


async def enrolled(api: Api, token: str) -> tuple[str, list[str]]:
    begin = await api.post("/api/me/mfa/totp", token=token)
    assert begin.status == 200, begin.body
    secret = begin.body["secret"]
    confirm = await api.post("/api/me/mfa/totp/confirm", {"code": pyotp.TOTP(secret).now()}, token=token)
    assert confirm.status == 200, confirm.body
    return secret, confirm.body["recovery_codes"]


async def first_factor(api: Api, email: str) -> dict:
    resp = await api.post("/api/auth/login", {"email": email, "password": DEFAULT_PASSWORD})
    assert resp.status == 200 and resp.body["mfa_required"] is True and "access_token" not in resp.body, resp.body
    return resp.body


async def test_enrolment_shows_the_secret_once_as_uri_and_qr_and_a_code_confirms_it(api, make_patient, db):
    patient = await make_patient()
    begin = await api.post("/api/me/mfa/totp", token=patient.access_token)
    assert begin.status == 200
    secret = begin.body["secret"]
    assert begin.body["otpauth_uri"].startswith("otpauth://totp/Engage:") and f"secret={secret}" in begin.body["otpauth_uri"]
    assert "<svg" in begin.body["qr_svg"] and "<script" not in begin.body["qr_svg"]
    wrong = await api.post("/api/me/mfa/totp/confirm", {"code": f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"}, token=patient.access_token)
    assert wrong.status == 400 and wrong.error_code == "invalid_code"
    confirm = await api.post("/api/me/mfa/totp/confirm", {"code": pyotp.TOTP(secret).now()}, token=patient.access_token)
    assert confirm.status == 200 and confirm.body["user"]["mfa_enabled"] is True
    codes = confirm.body["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10

    me = await api.get("/api/me", token=patient.access_token)
    assert me.body["user"]["mfa_enabled"] is True and secret not in str(me.body)
    again = await api.post("/api/me/mfa/totp", token=patient.access_token)
    assert again.status == 409 and again.error_code == "mfa_already_enabled"
    stored = await TotpEnrolment.find_one({"user_id": PydanticObjectId(patient.id)})
    assert secret not in stored.sealed_secret and not set(codes) & set(stored.recovery_code_hashes)


async def test_sign_in_needs_the_second_factor_and_each_recovery_code_works_once(api, make_patient):
    patient = await make_patient()
    secret, recovery = await enrolled(api, patient.access_token)

    step = await first_factor(api, patient.email)
    wrong = await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": "000000"})
    assert wrong.status == 401 and wrong.error_code == "invalid_code"
    done = await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": code_at(secret, 1)})
    assert done.status == 200 and done.body["access_token"] and done.body["recovery_codes"] is None
    assert (await api.get("/api/me", token=done.body["access_token"])).status == 200
    spent = await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": code_at(secret, 1)})
    assert spent.status == 401 and spent.error_code == "invalid_mfa_token"

    step = await first_factor(api, patient.email)
    assert (await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": recovery[0].upper()})).status == 200
    step = await first_factor(api, patient.email)
    reused = await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": recovery[0]})
    assert reused.status == 401
    assert (await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": recovery[1]})).status == 200


async def test_an_mfa_token_allows_five_tries(api, make_patient):
    patient = await make_patient()
    await enrolled(api, patient.access_token)
    step = await first_factor(api, patient.email)
    for _ in range(5):
        assert (await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": "000000"})).status == 401
    resp = await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": "000000"})
    assert resp.status == 429 and resp.error_code == "too_many_attempts"


async def test_turning_two_factor_off_needs_a_code(api, make_patient):
    patient = await make_patient()
    secret, recovery = await enrolled(api, patient.access_token)
    wrong = await api.request("DELETE", "/api/me/mfa/totp", json={"code": "000000"}, token=patient.access_token)
    assert wrong.status == 400
    resp = await api.request("DELETE", "/api/me/mfa/totp", json={"code": recovery[3]}, token=patient.access_token)
    assert resp.status == 200 and resp.body["user"]["mfa_enabled"] is False
    await login(api, patient.email)  # tokens straight away again


async def test_a_role_that_must_use_two_factor_enrols_at_its_next_sign_in(engage_environment, tmp_root, http_session, web):
    env = {**engage_environment, "ENGAGE_REQUIRE_MFA_ROLES": "doctor", "REDIS_URL": redis_db_url(engage_environment["REDIS_URL"], 14)}
    proc = start_engage("web", env, tmp_root)
    try:
        api = Api(http_session, proc.url)
        admin = await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
        doctor = await register(api, "doctor")
        assert (await api.post(f"/api/admin/doctors/{doctor['id']}/approve", token=admin.access_token)).status == 200
        patient = await register(api, "patient")
        await login(api, patient["email"])  # patients are not in the list

        step = await first_factor(api, doctor["email"])
        assert step["mfa_enrolment_required"] is True
        no_code_yet = await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": "123456"})
        assert no_code_yet.status == 409 and no_code_yet.error_code == "no_enrolment"
        begin = await api.post("/api/auth/mfa/totp", {"mfa_token": step["mfa_token"]})
        assert begin.status == 200 and "<svg" in begin.body["qr_svg"]
        done = await api.post("/api/auth/mfa", {"mfa_token": step["mfa_token"], "code": pyotp.TOTP(begin.body["secret"]).now()})
        assert done.status == 200 and done.body["access_token"] and len(done.body["recovery_codes"]) == 10
        assert done.body["user"]["mfa_enabled"] is True
        keep = await api.request("DELETE", "/api/me/mfa/totp", json={"code": done.body["recovery_codes"][0]}, token=done.body["access_token"])
        assert keep.status == 409 and keep.error_code == "mfa_required"
        again = await first_factor(api, doctor["email"])
        assert again["mfa_enrolment_required"] is False
    finally:
        proc.stop()


@pytest.mark.parametrize("body", [{"mfa_token": "short", "code": "123456"}, {"mfa_token": "x" * 30, "code": "<script>"}, {"mfa_token": "x" * 30}])
async def test_malformed_second_factor_requests_are_422(api, body):
    resp = await api.post("/api/auth/mfa", body)
    assert resp.status == 422
