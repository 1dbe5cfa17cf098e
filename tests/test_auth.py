"""Accounts and tokens: registration, login, refresh rotation with reuse detection, logout, /api/me."""

from __future__ import annotations

import time

import jwt
import pytest

from engage.models.auth import RefreshTokenFamily
from engage.models.user import User
from tests.clients import unique_email
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import login
from tests.conftest import register
from tests.servers import SECRET_KEY


def registration(**overrides) -> dict:
    body = {"email": unique_email(), "password": DEFAULT_PASSWORD, "name": "Ada Patient", "role": "patient"}
    body.update(overrides)
    return body


async def test_register_patient_returns_user_without_secrets(api, db):
    body = registration(phone="+14155550123", timezone="Europe/Paris", email="Mixed.Case-" + unique_email())
    resp = await api.post("/api/auth/register", body)
    assert resp.status == 201
    user = resp.body["user"]
    assert user["email"] == body["email"].lower()
    assert user["role"] == "patient" and user["approved"] is True
    assert user["phone"] == "+14155550123" and user["timezone"] == "Europe/Paris"
    assert "password" not in str(user) and "password_hash" not in user
    stored = await User.find_one({"email": body["email"].lower()})
    assert stored is not None and stored.password_hash.startswith("$argon2")


async def test_phone_is_normalised_to_e164(api):
    resp = await api.post("/api/auth/register", registration(phone="+1 (415) 555-0124"))
    assert resp.status == 201
    assert resp.body["user"]["phone"] == "+14155550124"


async def test_duplicate_email_in_other_letter_case_is_refused(api):
    email = unique_email()
    assert (await api.post("/api/auth/register", registration(email=email))).status == 201
    resp = await api.post("/api/auth/register", registration(email=email.upper()))
    assert resp.status == 409
    assert resp.body["error"]["code"] == "email_taken"
    assert resp.body["error"]["field"] == "email"


@pytest.mark.parametrize("password", ["short1", "onlyletterslong", "1234567890123", "x" * 129 + "1"])
async def test_weak_password_is_refused_with_the_rule(api, password):
    resp = await api.post("/api/auth/register", registration(password=password))
    assert resp.status == 422
    assert resp.body["error"]["code"] == "weak_password"
    assert resp.body["error"]["field"] == "password"
    assert "10 to 128 characters" in resp.body["error"]["message"]
    assert "letter" in resp.body["error"]["message"] and "digit" in resp.body["error"]["message"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "0123"}, "phone"),
        ({"phone": "+1415555"}, "phone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"role": "admin"}, "role"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"name": 42}, "name"),
        ({"password": 1234567890}, "password"),
        ({"unexpected": "x"}, "unexpected"),
    ],
)
async def test_invalid_fields_are_named(api, overrides, field):
    resp = await api.post("/api/auth/register", registration(**overrides))
    assert resp.status == 422, resp.body
    assert resp.body["error"]["code"] == "validation_error"
    assert resp.body["error"]["field"] == field
    assert field in resp.body["error"]["message"]


async def test_missing_field_is_named(api):
    body = registration()
    del body["name"]
    resp = await api.post("/api/auth/register", body)
    assert resp.status == 422
    assert resp.body["error"]["field"] == "name"


async def test_malformed_json_is_a_400_not_a_500(api):
    resp = await api.post("/api/auth/register", data=b'{"email": "x@example.org", ', headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert resp.body["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"text"', b"null", b""])
async def test_non_object_body_is_refused(api, payload):
    resp = await api.post("/api/auth/login", data=payload, headers={"Content-Type": "application/json"})
    assert resp.status in (400, 422)
    assert resp.body["error"]["code"] in ("invalid_json", "validation_error")


async def test_oversize_body_is_a_413(api):
    big = b'{"email": "' + b"a" * 2_000_000 + b'"}'
    resp = await api.post("/api/auth/register", data=big, headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert resp.body["error"]["code"] == "payload_too_large"


async def test_unknown_route_and_wrong_method_are_json(api):
    resp = await api.get("/api/nothing-here")
    assert resp.status == 404 and resp.body["error"]["code"] == "not_found"
    resp = await api.get("/api/auth/login")
    assert resp.status == 405 and resp.body["error"]["code"] == "method_not_allowed"


async def test_login_returns_tokens_and_user(api):
    user = await register(api)
    resp = await api.post("/api/auth/login", {"email": user["email"].upper(), "password": DEFAULT_PASSWORD})
    assert resp.status == 200
    assert resp.body["user"]["id"] == user["id"]
    claims = jwt.decode(resp.body["access_token"], SECRET_KEY, algorithms=["HS256"], issuer="engage")
    assert claims["sub"] == user["id"] and claims["typ"] == "access"
    assert claims["exp"] - time.time() <= 900 + 5


async def test_bad_credentials_do_not_say_which_part_was_wrong(api):
    user = await register(api)
    wrong_password = await api.post("/api/auth/login", {"email": user["email"], "password": "wrong-password-1"})
    unknown_email = await api.post("/api/auth/login", {"email": unique_email(), "password": DEFAULT_PASSWORD})
    assert wrong_password.status == unknown_email.status == 401
    assert wrong_password.body == unknown_email.body
    assert wrong_password.body["error"]["code"] == "invalid_credentials"


async def test_unapproved_doctor_cannot_log_in_until_approved(api, admin):
    doctor = await register(api, "doctor")
    assert doctor["approved"] is False
    resp = await api.post("/api/auth/login", {"email": doctor["email"], "password": DEFAULT_PASSWORD})
    assert resp.status == 403
    assert resp.body["error"]["code"] == "doctor_not_approved"

    pending = await api.get("/api/admin/doctors", params={"status": "pending"}, token=admin.access_token)
    assert pending.status == 200
    assert doctor["id"] in [d["id"] for d in pending.body["doctors"]]

    approved = await api.post(f"/api/admin/doctors/{doctor['id']}/approve", token=admin.access_token)
    assert approved.status == 200 and approved.body["user"]["approved"] is True
    pending = await api.get("/api/admin/doctors", params={"status": "pending"}, token=admin.access_token)
    assert doctor["id"] not in [d["id"] for d in pending.body["doctors"]]
    account = await login(api, doctor["email"])
    assert account.role == "doctor"


async def test_admin_routes_refuse_other_roles(api, make_patient, make_doctor):
    patient = await make_patient()
    doctor = await make_doctor()
    for token in (patient.access_token, doctor.access_token):
        resp = await api.get("/api/admin/doctors", token=token)
        assert resp.status == 403 and resp.body["error"]["code"] == "forbidden"
    resp = await api.post(f"/api/admin/doctors/{patient.id}/approve", token=patient.access_token)
    assert resp.status == 403


async def test_approving_a_non_doctor_is_404(api, admin, make_patient):
    patient = await make_patient()
    resp = await api.post(f"/api/admin/doctors/{patient.id}/approve", token=admin.access_token)
    assert resp.status == 404
    resp = await api.post("/api/admin/doctors/not-an-id/approve", token=admin.access_token)
    assert resp.status == 404


async def test_admin_doctor_list_validates_status(api, admin):
    resp = await api.get("/api/admin/doctors", params={"status": "sideways"}, token=admin.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "status"


async def test_me_returns_current_user(api, make_patient):
    patient = await make_patient()
    resp = await api.get("/api/me", token=patient.access_token)
    assert resp.status == 200
    assert resp.body["user"]["id"] == patient.id and resp.body["user"]["email"] == patient.email


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer garbage", "Basic abc", "Bearer "])
async def test_me_requires_a_valid_bearer_token(api, header):
    headers = {"Authorization": header} if header is not None else {}
    resp = await api.get("/api/me", headers=headers)
    assert resp.status == 401
    assert resp.body["error"]["code"] in ("unauthorized", "invalid_token")


async def test_expired_and_foreign_tokens_are_refused(api, make_patient):
    patient = await make_patient()
    expired = jwt.encode({"sub": patient.id, "role": "patient", "typ": "access", "iss": "engage", "exp": int(time.time()) - 5}, SECRET_KEY)
    forged = jwt.encode({"sub": patient.id, "role": "patient", "typ": "access", "iss": "engage", "exp": int(time.time()) + 60}, "another-secret-of-32-characters-xx")
    for token in (expired, forged, patient.refresh_token):
        resp = await api.get("/api/me", token=token)
        assert resp.status == 401


async def test_refresh_rotates_and_kills_the_old_token(api, make_patient):
    patient = await make_patient()
    first = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    assert first.status == 200
    assert first.body["refresh_token"] != patient.refresh_token
    assert (await api.get("/api/me", token=first.body["access_token"])).status == 200
    second = await api.post("/api/auth/refresh", {"refresh_token": first.body["refresh_token"]})
    assert second.status == 200


async def rotated_long_ago(refresh_token: str) -> None:
    """Move the family's last rotation past the refresh grace (10 s): presenting it again is a replay."""
    family = jwt.decode(refresh_token, SECRET_KEY, algorithms=["HS256"], issuer="engage")["fam"]
    await RefreshTokenFamily.get_pymongo_collection().update_one({"family_id": family}, {"$inc": {"rotated_at": -60}})


async def test_refresh_reuse_revokes_the_whole_family(api, make_patient, db):
    patient = await make_patient()
    rotated = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    assert rotated.status == 200
    await rotated_long_ago(patient.refresh_token)
    reused = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    assert reused.status == 401
    assert reused.body["error"]["code"] == "refresh_token_reused"
    # The legitimate newest token is dead too: the family is revoked.
    newest = await api.post("/api/auth/refresh", {"refresh_token": rotated.body["refresh_token"]})
    assert newest.status == 401
    claims = jwt.decode(patient.refresh_token, SECRET_KEY, algorithms=["HS256"], issuer="engage")
    family = await RefreshTokenFamily.find_one({"family_id": claims["fam"]})
    assert family is not None and family.revoked and family.revoked_reason == "reuse_detected"


async def test_other_sessions_survive_reuse_in_one_family(api, make_patient, db):
    patient = await make_patient()
    other = await login(api, patient.email)
    await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    await rotated_long_ago(patient.refresh_token)
    reused = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    assert reused.error_code == "refresh_token_reused"
    assert (await api.post("/api/auth/refresh", {"refresh_token": other.refresh_token})).status == 200


async def test_logout_revokes_the_family(api, make_patient):
    patient = await make_patient()
    rotated = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    resp = await api.post("/api/auth/logout", {"refresh_token": rotated.body["refresh_token"]})
    assert resp.status == 200
    after = await api.post("/api/auth/refresh", {"refresh_token": rotated.body["refresh_token"]})
    assert after.status == 401


@pytest.mark.parametrize("token", ["", "garbage", 12])
async def test_refresh_rejects_bad_tokens(api, token):
    resp = await api.post("/api/auth/refresh", {"refresh_token": token})
    assert resp.status in (401, 422)
    assert resp.body["error"]["code"] in ("invalid_refresh_token", "validation_error")


async def test_repeated_failed_logins_lock_the_account_for_a_while(api):
    user = await register(api)
    began = time.monotonic()
    for _ in range(10):
        resp = await api.post("/api/auth/login", {"email": user["email"], "password": "wrong-password-1"})
        assert resp.status == 401
    locked = await api.post("/api/auth/login", {"email": user["email"], "password": DEFAULT_PASSWORD})
    assert locked.status == 429
    assert locked.body["error"]["code"] == "too_many_attempts"
    # The wait is what is left of the lockout (900 s by default, started within the time those
    # attempts took), in the header clients honour.
    assert 900 - (time.monotonic() - began) - 1 <= int(locked.headers["Retry-After"]) <= 900


async def test_a_successful_login_resets_the_failure_count(api):
    user = await register(api)
    for _ in range(9):
        await api.post("/api/auth/login", {"email": user["email"], "password": "wrong-password-1"})
    assert (await api.post("/api/auth/login", {"email": user["email"], "password": DEFAULT_PASSWORD})).status == 200
    for _ in range(9):
        await api.post("/api/auth/login", {"email": user["email"], "password": "wrong-password-1"})
    assert (await api.post("/api/auth/login", {"email": user["email"], "password": DEFAULT_PASSWORD})).status == 200


async def test_api_responses_are_not_cached(http_session, web, make_patient):
    patient = await make_patient()
    async with http_session.get(web.url + "/api/me", headers={"Authorization": f"Bearer {patient.access_token}"}) as resp:
        assert resp.status == 200
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
