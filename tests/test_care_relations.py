"""Care relations: who may see a patient's health data, how a relation starts and ends, emergency
access, and what the patient and the admins can read back from the audit log."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from beanie import PydanticObjectId

from engage import extensions
from engage.models.audit import AuditEvent
from engage.models.care import CareRelation
from engage.models.notification import Notification
from schemas.care import AuditPage
from schemas.care import CareRelationOut
from schemas.care import EmergencyAccessEvent
from tests.booking_support import ALL_DAY
from tests.booking_support import book
from tests.booking_support import iso
from tests.booking_support import make_clinic
from tests.booking_support import make_scheduled_doctor
from tests.vitals_helpers import vital
from tests.waiting import wait_until

REASON = "Patient unconscious in the emergency department"


pytestmark = pytest.mark.usefixtures("db")  # tests here check what was stored.


def soon(days: int = 3, slot: int = 0) -> str:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=days, minutes=30 * slot)
    return iso(start)


async def assign(api, admin, patient_id: str, doctor_id: str) -> dict:
    resp = await api.post("/api/admin/care-relations", {"patient_id": patient_id, "doctor_id": doctor_id, "reason": "Covering colleague"}, token=admin.access_token)
    assert resp.status == 201, resp.body
    return resp.body["relation"]


async def test_a_doctor_cannot_give_themselves_a_relation_by_opening_a_conversation(api, make_patient, make_doctor):
    """Finding 1: opening a conversation with any patient used to make the doctor their doctor."""
    patient, doctor = await make_patient(), await make_doctor()
    resp = await api.post("/api/conversations", {"patient_id": patient.id}, token=doctor.access_token)
    assert resp.status == 404 and resp.error_code == "not_found"
    made_up = await api.post("/api/conversations", {"patient_id": str(PydanticObjectId())}, token=doctor.access_token)
    assert (made_up.status, made_up.body) == (resp.status, resp.body)
    for path in (f"/api/patients/{patient.id}/vitals/readings", f"/api/patients/{patient.id}/alerts", f"/api/patients/{patient.id}/prescriptions"):
        assert (await api.get(path, token=doctor.access_token)).status == 404
    assert await CareRelation.find({"patient_id": PydanticObjectId(patient.id)}).count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/patients/{id}/vitals/readings",
        "/api/patients/{id}/alerts",
        "/api/patients/{id}/thresholds",
        "/api/patients/{id}/prescriptions",
        "/fhir/Observation?patient={id}",
        "/api/advice?patient_id={id}",
    ],
)
async def test_outsiders_get_the_same_answer_for_real_and_made_up_patients(api, make_patient, make_doctor, path):
    patient, outsider, other_patient = await make_patient(), await make_doctor(), await make_patient()
    for who in (outsider, other_patient):
        real = await api.get(path.format(id=patient.id), token=who.access_token)
        made_up = await api.get(path.format(id=str(PydanticObjectId())), token=who.access_token)
        assert real.status == made_up.status == 404
        assert real.body == made_up.body


async def test_the_patient_opening_a_conversation_puts_the_doctor_in_their_care_team(api, make_patient, make_doctor):
    patient, doctor = await make_patient(), await make_doctor()
    assert (await api.get(f"/api/patients/{patient.id}/alerts", token=doctor.access_token)).status == 404
    assert (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).status == 201
    assert (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).status == 200
    assert (await api.get(f"/api/patients/{patient.id}/alerts", token=doctor.access_token)).status == 200
    team = (await api.get("/api/me/care-team", token=patient.access_token)).body["care_team"]
    assert [(CareRelationOut.model_validate(r).doctor.id, r["source"], r["until"]) for r in team] == [(doctor.id, "conversation", None)]
    # the doctor can now open it from their side too
    assert (await api.post("/api/conversations", {"patient_id": patient.id}, token=doctor.access_token)).status == 200


async def test_an_appointment_relates_until_the_care_period_after_it_and_cancelling_ends_it(api, admin, make_patient, make_doctor):
    patient = await make_patient()
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY)
    booked = await book(api, patient, doctor.id, soon())
    assert booked.status == 201, booked.body
    team = (await api.get("/api/me/care-team", token=patient.access_token)).body["care_team"]
    assert len(team) == 1 and team[0]["source"] == "appointment" and team[0]["id"] is None
    start = datetime.fromisoformat(booked.body["appointment"]["start"].replace("Z", "+00:00"))
    assert datetime.fromisoformat(team[0]["until"]) == start + timedelta(days=365)
    assert (await api.get(f"/api/patients/{patient.id}/vitals/readings", token=doctor.access_token)).status == 200
    cancelled = await api.post(f"/api/appointments/{booked.body['appointment']['id']}/cancel", {}, token=patient.access_token)
    assert cancelled.status == 200
    assert (await api.get("/api/me/care-team", token=patient.access_token)).body["care_team"] == []
    assert (await api.get(f"/api/patients/{patient.id}/vitals/readings", token=doctor.access_token)).status == 404


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_a_doctor_whose_relation_ends_stops_receiving_the_patients_vitals_on_every_process(
    api, admin, make_patient, make_doctor, connect, web, web2, transport
):
    """Finding 4: a doctor whose patient cancelled kept receiving vitals:reading."""
    patient = await make_patient()
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, weekly=ALL_DAY)
    colleague = await make_doctor()
    await assign(api, admin, patient.id, colleague.id)
    booked = await book(api, patient, doctor.id, soon(slot=1))
    assert booked.status == 201, booked.body
    doctor_socket = await connect(doctor.access_token, transport, url=web2.url)
    colleague_socket = await connect(colleague.access_token, transport, url=web2.url)
    for sock in (doctor_socket, colleague_socket):
        assert (await sock.call("vitals:watch", {"patient_id": patient.id}))["ok"]
    patient_socket = await connect(patient.access_token, transport, url=web.url)

    await patient_socket.call("vitals:submit", vital("heart_rate", 70, taken_at=iso(datetime.now(UTC) - timedelta(seconds=30))))
    await doctor_socket.wait_for("vitals:reading")  # watching works while related

    # the patient cancels on the other process; the doctor's socket there leaves the room
    assert (await api.post(f"/api/appointments/{booked.body['appointment']['id']}/cancel", {}, token=patient.access_token)).status == 200
    ack = await patient_socket.call("vitals:submit", vital("heart_rate", 72, taken_at=iso(datetime.now(UTC) - timedelta(seconds=20))))
    assert ack["ok"], ack
    await colleague_socket.wait_for("vitals:reading", lambda e: e["reading"]["id"] == ack["id"])
    # Delivery to one room's sockets of one process happens in one pass: once the colleague has the
    # reading, the doctor would have been sent it too, and an ack answered after it would follow it.
    refused = await doctor_socket.call("vitals:watch", {"patient_id": patient.id})
    assert refused["ok"] is False and refused["error"]["code"] == "not_found"
    seen = [e["reading"]["id"] for e in doctor_socket.received("vitals:reading")]
    assert seen and ack["id"] not in seen


async def test_admin_assigns_and_ends_a_relation(api, admin, make_patient, make_doctor, connect):
    patient, doctor = await make_patient(), await make_doctor()
    relation = await assign(api, admin, patient.id, doctor.id)
    assert relation["source"] == "assigned" and relation["doctor"]["id"] == doctor.id
    sock = await connect(doctor.access_token)
    assert (await sock.call("vitals:watch", {"patient_id": patient.id}))["ok"]
    ended = await api.post(f"/api/admin/care-relations/{relation['id']}/end", {"reason": "Left the practice"}, token=admin.access_token)
    assert ended.status == 200 and ended.body["relation"]["ended_at"] is not None
    again = await api.post(f"/api/admin/care-relations/{relation['id']}/end", {}, token=admin.access_token)
    assert again.status == 200 and again.body["relation"]["ended_at"] == ended.body["relation"]["ended_at"]
    assert (await api.get(f"/api/patients/{patient.id}/thresholds", token=doctor.access_token)).status == 404
    bad = await api.post("/api/admin/care-relations", {"patient_id": doctor.id, "doctor_id": doctor.id}, token=admin.access_token)
    assert bad.status == 404
    missing = await api.post(f"/api/admin/care-relations/{PydanticObjectId()}/end", {}, token=admin.access_token)
    assert missing.status == 404


async def test_emergency_access_is_granted_for_a_day_flagged_and_announced(api, admin, make_patient, make_doctor, connect):
    patient, doctor = await make_patient(), await make_doctor()
    patient_socket = await connect(patient.access_token)
    short = await api.post(f"/api/patients/{patient.id}/emergency-access", {"reason": "urgent"}, token=doctor.access_token)
    assert short.status == 422 and short.body["error"]["field"] == "reason"
    assert (await api.post(f"/api/patients/{PydanticObjectId()}/emergency-access", {"reason": REASON}, token=doctor.access_token)).status == 404

    resp = await api.post(f"/api/patients/{patient.id}/emergency-access", {"reason": REASON}, token=doctor.access_token)
    assert resp.status == 201, resp.body
    relation = CareRelationOut.model_validate(resp.body["relation"])
    assert relation.source == "emergency" and relation.reason == REASON
    assert timedelta(hours=23, minutes=59) < relation.until - relation.since <= timedelta(hours=24)
    event = EmergencyAccessEvent.model_validate(await patient_socket.wait_for("care:emergency_access"))
    assert event.relation.doctor.id == doctor.id and event.relation.reason == REASON

    assert (await api.get(f"/api/patients/{patient.id}/vitals/readings", token=doctor.access_token)).status == 200
    audit = await AuditEvent.find({"subject_id": PydanticObjectId(patient.id), "actor_id": PydanticObjectId(doctor.id)}).to_list()
    assert {a.action for a in audit} == {"care.emergency_access", "vitals.read"}
    assert all(a.emergency and a.reason == REASON for a in audit)

    told = await Notification.find({"idempotency_key": {"$regex": f"^emergency_access:{relation.id}"}}).to_list()
    assert {(str(n.recipient_id), n.kind) for n in told} >= {(patient.id, "emergency_access"), (admin.id, "emergency_access_review")}
    assert all(n.critical and "reason" not in n.context for n in told)  # the reason stays in Engage


async def test_the_patient_reads_who_looked_and_why(api, make_patient, make_doctor):
    patient, doctor, other = await make_patient(), await make_doctor(), await make_patient()
    assert (await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)).status == 201
    assert (await api.get(f"/api/patients/{patient.id}/alerts", token=doctor.access_token)).status == 200
    assert (await api.get(f"/api/patients/{patient.id}/alerts", token=patient.access_token)).status == 200  # self: not logged
    log = AuditPage.model_validate((await api.get("/api/me/access-log", token=patient.access_token)).body)
    assert [(e.actor.id, e.action, e.emergency) for e in log.entries] == [(doctor.id, "vitals.alerts_read", False)]
    assert (await api.get("/api/me/access-log", token=other.access_token)).body["entries"] == []
    assert (await api.get("/api/me/access-log", params={"limit": "0"}, token=patient.access_token)).status == 422


async def test_admins_filter_and_page_the_audit_log(api, admin, make_patient, make_doctor):
    patient, doctor = await make_patient(), await make_doctor()
    await assign(api, admin, patient.id, doctor.id)
    for _ in range(3):
        assert (await api.get(f"/api/patients/{patient.id}/thresholds", token=doctor.access_token)).status == 200
    first = AuditPage.model_validate((await api.get("/api/admin/audit", params={"subject_id": patient.id, "limit": "2"}, token=admin.access_token)).body)
    assert len(first.entries) == 2 and first.next_before is not None
    rest = await api.get("/api/admin/audit", params={"subject_id": patient.id, "limit": "2", "before": first.next_before.isoformat()}, token=admin.access_token)
    assert len(rest.body["entries"]) == 1 and rest.body["next_before"] is None
    assert all(e["actor"]["id"] == doctor.id and e["action"] == "vitals.thresholds_read" for e in first.model_dump(mode="json")["entries"] + rest.body["entries"])
    flagged = await api.get("/api/admin/audit", params={"subject_id": patient.id, "emergency": "true"}, token=admin.access_token)
    assert flagged.body["entries"] == []
    assert (await api.get("/api/admin/audit", params={"actor_id": "nope"}, token=admin.access_token)).status == 422


async def test_a_doctor_nobody_approved_is_never_listed_bookable_or_messageable(api, admin, make_patient, db):
    """Finding 8: once an admin set up their profile, an unapproved doctor could be listed and booked."""
    clinic = await make_clinic(api, admin)
    resp = await api.post("/api/auth/register", {"email": f"d-{uuid.uuid4().hex[:8]}@example.org", "password": "correct-horse-42", "name": "Dr Pending", "role": "doctor"})
    pending = resp.body["user"]
    assert (await api.patch(f"/api/doctors/{pending['id']}", {"clinic_id": clinic["id"], "specialties": ["pending"]}, token=admin.access_token)).status == 200
    body = {"slot_minutes": 30, "buffer_minutes": 0, "weekly": ALL_DAY, "exceptions": []}
    assert (await api.put(f"/api/doctors/{pending['id']}/availability", body, token=admin.access_token)).status == 200
    patient = await make_patient()
    listed = await api.get("/api/doctors", params={"clinic_id": clinic["id"]}, token=patient.access_token)
    assert listed.status == 200 and listed.body["doctors"] == []
    assert (await api.get(f"/api/doctors/{pending['id']}", token=patient.access_token)).status == 404
    day = str((datetime.now(UTC) + timedelta(days=3)).date())
    assert (await api.get(f"/api/doctors/{pending['id']}/slots", params={"from": day, "to": day}, token=patient.access_token)).status == 404
    booked = await book(api, patient, pending["id"], soon())
    assert booked.status == 404 and booked.body["error"]["field"] == "doctor_id"
    assert (await api.post("/api/conversations", {"doctor_id": pending["id"]}, token=patient.access_token)).status == 409
    # approved, the same doctor is listed and bookable
    assert (await api.post(f"/api/admin/doctors/{pending['id']}/approve", token=admin.access_token)).status == 200
    listed = await api.get("/api/doctors", params={"clinic_id": clinic["id"]}, token=patient.access_token)
    assert [d["id"] for d in listed.body["doctors"]] == [pending["id"]]
    assert (await book(api, patient, pending["id"], soon())).status == 201


async def test_when_emergency_access_runs_out_the_doctors_sockets_stop_following_the_patient(
    api, admin, make_patient, make_doctor, connect, web2, worker, settings
):
    patient, doctor, colleague = await make_patient(), await make_doctor(), await make_doctor()
    await assign(api, admin, patient.id, colleague.id)
    resp = await api.post(f"/api/patients/{patient.id}/emergency-access", {"reason": REASON}, token=doctor.access_token)
    assert resp.status == 201, resp.body
    doctor_socket = await connect(doctor.access_token, url=web2.url)
    colleague_socket = await connect(colleague.access_token, url=web2.url)
    for sock in (doctor_socket, colleague_socket):
        assert (await sock.call("vitals:watch", {"patient_id": patient.id}))["ok"]

    # the day has passed: the periodic scan (a real RQ job on the worker) ends the access
    relation_id = PydanticObjectId(resp.body["relation"]["id"])
    await CareRelation.get_pymongo_collection().update_one({"_id": relation_id}, {"$set": {"until": datetime.now(UTC) - timedelta(seconds=1)}})
    queue = extensions.queue("default", extensions.sync_redis(settings))
    job = await asyncio.to_thread(queue.enqueue, "workers.care.end_expired_care_relations")
    await wait_until(lambda: CareRelation.find_one({"_id": relation_id, "ended_at": {"$ne": None}}), 30, what="the relation ended")
    assert (await CareRelation.get(relation_id)).ended_reason == "expired"
    await wait_until(lambda: job.get_status(refresh=True) == "finished", 30, what="the scan job finished")  # the rooms are left after the write

    patient_socket = await connect(patient.access_token)
    ack = await patient_socket.call("vitals:submit", vital("heart_rate", 75, taken_at=iso(datetime.now(UTC) - timedelta(seconds=10))))
    assert ack["ok"], ack
    await colleague_socket.wait_for("vitals:reading", lambda e: e["reading"]["id"] == ack["id"])
    refused = await doctor_socket.call("vitals:watch", {"patient_id": patient.id})  # an ack after the reading would be
    assert refused["ok"] is False and refused["error"]["code"] == "not_found"
    assert ack["id"] not in [e["reading"]["id"] for e in doctor_socket.received("vitals:reading")]
