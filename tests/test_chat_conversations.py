"""Conversations over HTTP: opening (idempotent per pair), listing, history, REST send and read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from engage.lib.by_ids import ID_CHUNK
from engage.models.conversation import Conversation, ConversationActivity
from engage.models.user import User
from schemas.chat import ConversationOut, MessageOut
from tests.chat_factories import client_id, open_pair, valid
from tests.conftest import register


async def test_same_pair_always_gets_the_same_conversation(api, make_patient, make_doctor, db):
    patient, doctor = await make_patient(), await make_doctor()
    first = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    assert first.status == 201
    conversation = valid(ConversationOut, first.body["conversation"])
    assert conversation["patient_id"] == patient.id and conversation["doctor_id"] == doctor.id
    assert conversation["other_party"] == {"id": doctor.id, "name": doctor.name, "role": "doctor", "online": False}
    assert conversation["last_message"] is None and conversation["unread_count"] == 0
    again = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    # the patient opened it, so the doctor is in their care and may open it from their side
    from_doctor = await api.post("/api/conversations", {"patient_id": patient.id}, token=doctor.access_token)
    assert again.status == 200 and from_doctor.status == 200
    assert again.body["conversation"]["id"] == from_doctor.body["conversation"]["id"] == conversation["id"]
    assert from_doctor.body["conversation"]["other_party"]["id"] == patient.id
    assert await Conversation.find({"patient_id": conversation_oid(patient.id)}).count() == 1


def conversation_oid(value: str):
    from beanie import PydanticObjectId

    return PydanticObjectId(value)


async def test_concurrent_opens_make_one_conversation(api, make_patient, make_doctor, db):
    import asyncio

    patient, doctor = await make_patient(), await make_doctor()
    responses = await asyncio.gather(*[api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token) for _ in range(8)])
    assert sorted(r.status for r in responses) == [200] * 7 + [201]
    assert len({r.body["conversation"]["id"] for r in responses}) == 1


async def test_doctor_must_be_approved(api, make_patient):
    patient = await make_patient()
    pending = await register(api, "doctor")
    resp = await api.post("/api/conversations", {"doctor_id": pending["id"]}, token=patient.access_token)
    assert resp.status == 409 and resp.error_code == "doctor_not_approved"


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("patient", {}, 422, "validation_error"),
        ("patient", {"doctor_id": "nope"}, 422, "validation_error"),
        ("patient", {"doctor_id": "0" * 24}, 404, "not_found"),
        ("patient", {"patient_id": "SELF"}, 422, "validation_error"),
        ("patient", {"doctor_id": "DOCTOR", "patient_id": "SELF"}, 422, "validation_error"),
        ("patient", {"doctor_id": "OTHER_PATIENT"}, 404, "not_found"),
        ("doctor", {"doctor_id": "DOCTOR"}, 422, "validation_error"),
        ("doctor", {"patient_id": "DOCTOR"}, 404, "not_found"),
        ("admin", {"patient_id": "SELF"}, 403, "forbidden"),
    ],
)
async def test_bad_open_requests_are_refused(api, make_patient, make_doctor, admin, who, body, status, code):
    patient, doctor, other = await make_patient(), await make_doctor(), await make_patient()
    names = {"SELF": patient.id, "DOCTOR": doctor.id, "OTHER_PATIENT": other.id}
    body = {k: names.get(v, v) for k, v in body.items()}
    token = {"patient": patient, "doctor": doctor, "admin": admin}[who].access_token
    resp = await api.post("/api/conversations", body, token=token)
    assert resp.status == status, resp.body
    assert resp.error_code == code


async def test_list_is_newest_activity_first_with_last_message_and_unread(api, make_patient, make_doctor):
    patient, doctor_a, doctor_b = await make_patient(), await make_doctor(), await make_doctor()
    a = await open_pair(api, patient, doctor_a)
    b = await open_pair(api, patient, doctor_b)
    for text in ("one", "two"):
        assert (await api.post(f"/api/conversations/{b.id}/messages", {"client_id": client_id(), "body": text}, token=doctor_b.access_token)).status == 201
    assert (await api.post(f"/api/conversations/{a.id}/messages", {"client_id": client_id(), "body": "hello"}, token=doctor_a.access_token)).status == 201

    listing = (await api.get("/api/conversations", token=patient.access_token)).body["conversations"]
    for item in listing:
        valid(ConversationOut, item)
    assert [c["id"] for c in listing] == [a.id, b.id]
    assert [c["other_party"]["id"] for c in listing] == [doctor_a.id, doctor_b.id]
    assert [c["last_message"]["body"] for c in listing] == ["hello", "two"]
    assert [c["unread_count"] for c in listing] == [1, 2]
    # The sender has read its own messages.
    doctor_view = (await api.get("/api/conversations", token=doctor_b.access_token)).body["conversations"]
    assert [(c["id"], c["unread_count"], c["other_party"]["id"]) for c in doctor_view] == [(b.id, 0, patient.id)]


async def test_a_doctor_with_more_conversations_than_one_lookup_holds_sees_them_all(api, make_doctor, db):
    """Listing fetches patients and activity a chunk of ids at a time; every chunk must arrive."""
    doctor = await make_doctor()
    count = 2 * ID_CHUNK + 5
    now = datetime.now(UTC).replace(microsecond=0)
    patients = [{"_id": ObjectId(), "email": f"many-{uuid.uuid4().hex}@example.org", "password_hash": "x", "name": f"Patient {n}", "role": "patient"} for n in range(count)]
    conversations = [{"_id": ObjectId(), "patient_id": p["_id"], "doctor_id": ObjectId(doctor.id), "created_at": now - timedelta(days=1)} for p in patients]
    # Newest activity first: conversation n last spoke n minutes ago, with n unread for the doctor.
    activities = [
        {
            "_id": c["_id"], "last_seq": n + 1, "read_seqs": {doctor.id: 1}, "last_message_at": now - timedelta(minutes=n),
            "last_message": {"id": f"k{n}", "seq": n + 1, "sender_id": str(c["patient_id"]), "client_id": f"c{n}", "body": f"message {n}", "created_at": now - timedelta(minutes=n)},
        }
        for n, c in enumerate(conversations)
    ]
    await User.get_pymongo_collection().insert_many(patients)
    await Conversation.get_pymongo_collection().insert_many(conversations)
    await ConversationActivity.get_pymongo_collection().insert_many(activities)

    whole = (await api.get("/api/conversations", token=doctor.access_token)).body
    assert whole["next_before"] is None
    assert [(c["id"], c["other_party"]["name"], c["last_message"]["body"], c["unread_count"]) for c in whole["conversations"]] == [
        (str(c["_id"]), f"Patient {n}", f"message {n}", n) for n, c in enumerate(conversations)
    ]

    # Paged: every conversation once, in the same order, even when one moves to the top meanwhile.
    pages, before = [], None
    while True:
        params = {"limit": "20", **({"before": before} if before else {})}
        resp = await api.get("/api/conversations", token=doctor.access_token, params=params)
        assert resp.status == 200, resp.body
        pages.append([c["id"] for c in resp.body["conversations"]])
        before = resp.body["next_before"]
        if len(pages) == 1:
            moved = conversations[50]["_id"]  # on a later page; a new message lifts it to the top
            await ConversationActivity.get_pymongo_collection().update_one({"_id": moved}, {"$set": {"last_message_at": now + timedelta(minutes=1)}})
        if before is None:
            break
    assert [len(page) for page in pages] == [20, 20, 20, count - 61]
    listed = [cid for page in pages for cid in page]
    assert listed == [str(c["_id"]) for n, c in enumerate(conversations) if n != 50]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"limit": "ten"}, "limit"), ({"before": "yesterday"}, "before"), ({"before": "1." + "g" * 24}, "before")],
)
async def test_bad_listing_pages_are_refused(api, make_patient, params, field):
    patient = await make_patient()
    resp = await api.get("/api/conversations", token=patient.access_token, params=params)
    assert resp.status == 422 and resp.error_code == "validation_error" and resp.body["error"]["field"] == field


async def test_history_pages_newest_first(api, make_patient, make_doctor):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    for n in range(1, 6):
        resp = await api.post(f"/api/conversations/{pair.id}/messages", {"client_id": f"c{n}", "body": f"m{n}"}, token=pair.patient.access_token)
        assert resp.status == 201 and resp.body["message"]["seq"] == n
    pages = []
    params = {"limit": "2"}
    while True:
        resp = await api.get(f"/api/conversations/{pair.id}/messages", token=pair.doctor.access_token, params=params)
        assert resp.status == 200
        pages.append([valid(MessageOut, m)["seq"] for m in resp.body["messages"]])
        if resp.body["next_before_seq"] is None:
            break
        params = {"limit": "2", "before_seq": str(resp.body["next_before_seq"])}
    assert pages == [[5, 4], [3, 2], [1]]
    bad = await api.get(f"/api/conversations/{pair.id}/messages", token=pair.doctor.access_token, params={"limit": "1000"})
    assert bad.status == 422 and bad.body["error"]["field"] == "limit"


async def test_rest_send_is_idempotent_and_read_moves_unread(api, make_patient, make_doctor):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    url = f"/api/conversations/{pair.id}/messages"
    first = await api.post(url, {"client_id": "same", "body": "  hi there  "}, token=pair.patient.access_token)
    again = await api.post(url, {"client_id": "same", "body": "different text"}, token=pair.patient.access_token)
    assert first.status == 201 and again.status == 200
    assert again.body["message"] == first.body["message"]
    assert first.body["message"]["body"] == "hi there"
    await api.post(url, {"client_id": "second", "body": "more"}, token=pair.patient.access_token)
    unread = lambda body: body["conversation"]["unread_count"]
    assert unread((await api.get(f"/api/conversations/{pair.id}", token=pair.doctor.access_token)).body) == 2
    read = await api.post(f"/api/conversations/{pair.id}/read", {"seq": 1}, token=pair.doctor.access_token)
    assert read.status == 200 and read.body == {"seq": 1}
    assert unread((await api.get(f"/api/conversations/{pair.id}", token=pair.doctor.access_token)).body) == 1
    # Past the end is clamped to the last message; going backwards keeps the furthest position.
    assert (await api.post(f"/api/conversations/{pair.id}/read", {"seq": 99}, token=pair.doctor.access_token)).body == {"seq": 2}
    assert (await api.post(f"/api/conversations/{pair.id}/read", {"seq": 1}, token=pair.doctor.access_token)).body == {"seq": 2}
    assert unread((await api.get(f"/api/conversations/{pair.id}", token=pair.doctor.access_token)).body) == 0


async def test_third_user_is_refused_on_every_endpoint(api, make_patient, make_doctor):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    for intruder in (await make_patient(), await make_doctor()):
        token = intruder.access_token
        calls = [
            api.get(f"/api/conversations/{pair.id}", token=token),
            api.get(f"/api/conversations/{pair.id}/messages", token=token),
            api.post(f"/api/conversations/{pair.id}/messages", {"client_id": "x", "body": "hi"}, token=token),
            api.post(f"/api/conversations/{pair.id}/read", {"seq": 0}, token=token),
        ]
        for call in calls:
            resp = await call
            assert resp.status == 404 and resp.error_code == "not_found", resp.body
        assert (await api.get("/api/conversations", token=token)).body == {"conversations": [], "next_before": None}
    assert (await api.get(f"/api/conversations/{pair.id}")).status == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_id": "a", "body": ""}, "body"),
        ({"client_id": "a", "body": " \n\t "}, "body"),
        ({"client_id": "a", "body": "x" * 4001}, "body"),
        ({"client_id": "a"}, "body"),
        ({"client_id": "a", "body": 5}, "body"),
        ({"body": "hi"}, "client_id"),
        ({"client_id": "", "body": "hi"}, "client_id"),
        ({"client_id": "x" * 65, "body": "hi"}, "client_id"),
        ({"client_id": "a", "body": "hi", "extra": 1}, "extra"),
    ],
)
async def test_rest_send_validation(api, make_patient, make_doctor, body, field):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    resp = await api.post(f"/api/conversations/{pair.id}/messages", body, token=pair.patient.access_token)
    assert resp.status == 422 and resp.error_code == "validation_error"
    assert resp.body["error"]["field"] == field
    listing = await api.get(f"/api/conversations/{pair.id}/messages", token=pair.patient.access_token)
    assert listing.body["messages"] == []


async def test_longest_body_is_accepted(api, make_patient, make_doctor):
    pair = await open_pair(api, await make_patient(), await make_doctor())
    body = " " + "y" * 4000 + "  "
    resp = await api.post(f"/api/conversations/{pair.id}/messages", {"client_id": "x" * 64, "body": body}, token=pair.patient.access_token)
    assert resp.status == 201 and resp.body["message"]["body"] == "y" * 4000
