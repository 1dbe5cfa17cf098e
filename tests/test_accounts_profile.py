"""Profile edits, the export of one's own data, and account deletion with its scheduled erasure."""

from __future__ import annotations

import json
from datetime import timedelta

from beanie import PydanticObjectId

from engage.actions.data_rights import do_erase_due_accounts
from engage.models.audit import AuditEvent
from engage.models.base import utcnow
from engage.models.user import User
from tests.conftest import DEFAULT_PASSWORD
from tests.test_sessions import disconnected


async def test_a_user_edits_their_name_timezone_and_language(api, make_patient):
    patient = await make_patient()
    resp = await api.patch("/api/me", {"name": "Ada Lovelace", "timezone": "Europe/London", "language": "en-GB"}, token=patient.access_token)
    assert resp.status == 200 and resp.body["user"]["name"] == "Ada Lovelace"
    assert resp.body["user"]["timezone"] == "Europe/London" and resp.body["user"]["language"] == "en-GB"
    partial = await api.patch("/api/me", {"name": "Ada King"}, token=patient.access_token)
    assert partial.body["user"]["timezone"] == "Europe/London"
    for bad in ({"timezone": "Mars/Olympus"}, {"name": None}, {"email": "new@example.org"}, {"language": "english"}):
        assert (await api.patch("/api/me", bad, token=patient.access_token)).status == 422, bad


async def test_the_export_holds_the_users_own_data_and_no_secrets(api, make_patient, make_doctor):
    patient = await make_patient()
    doctor = await make_doctor()
    assert (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).status == 201
    assert (await api.put("/api/me/preferences", {"quiet_hours": {"start": "22:00", "end": "07:00"}}, token=patient.access_token)).status == 200
    async with api.session.get(f"{api.base_url}/api/me/export", headers={"Authorization": f"Bearer {patient.access_token}"}) as resp:
        assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
        export = json.loads(await resp.text())
    assert export["user"]["email"] == patient.email and "password_hash" not in export["user"]
    assert export["collections"]["conversations"][0]["doctor_id"] == doctor.id
    assert "notification_preferences" in export["collections"]
    assert not {"account_secrets", "totp_enrolments", "refresh_token_families"} & set(export["collections"])
    text = json.dumps(export)
    assert "argon2" not in text and "code_hash" not in text
    # Another user's export holds none of it.
    other = await make_patient()
    theirs = await api.get("/api/me/export", token=other.access_token)
    assert patient.email not in json.dumps(theirs.body)


async def test_deleting_signs_out_at_once_and_the_erasure_scan_removes_personal_data_later(api, make_patient, connect, db):
    patient = await make_patient(phone="+14155550163")
    socket = await connect(patient.access_token)
    wrong = await api.post("/api/me/delete", {"password": "not-my-password-1"}, token=patient.access_token)
    assert wrong.status == 400 and wrong.body["error"]["field"] == "password"
    resp = await api.post("/api/me/delete", {"password": DEFAULT_PASSWORD}, token=patient.access_token)
    assert resp.status == 200 and resp.body["user"]["active"] is False
    await disconnected(socket)
    refused = await api.post("/api/auth/login", {"email": patient.email, "password": DEFAULT_PASSWORD})
    assert refused.status == 403 and refused.error_code == "account_deactivated"
    user_id = PydanticObjectId(patient.id)
    stored = await User.get(user_id)
    assert stored.deletion_due_at is not None and stored.deletion_due_at > utcnow() + timedelta(days=29)

    await do_erase_due_accounts()  # not due yet: nothing changes
    assert (await User.get(user_id)).email == patient.email
    await AuditEvent(actor_id=user_id, actor_role="patient", subject_id=user_id, action="read", resource="record").insert()
    await User.get_pymongo_collection().update_one({"_id": user_id}, {"$set": {"deletion_due_at": utcnow() - timedelta(seconds=1)}})
    assert await do_erase_due_accounts() >= 1
    erased = await User.get(user_id)
    assert erased.email != patient.email and erased.name == "Erased user" and erased.phone is None
    assert await AuditEvent.find({"subject_id": user_id}).count() >= 1  # the audit keeps the opaque id
    assert (await api.post("/api/auth/login", {"email": patient.email, "password": DEFAULT_PASSWORD})).status == 401
