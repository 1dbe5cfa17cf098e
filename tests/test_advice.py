"""AI advice: the RQ job on the offline guideline path and on the LLM path (a local recording server)."""

from __future__ import annotations

import json

import pytest
from beanie import PydanticObjectId

from engage.lib.advice_engine import DISCLAIMER
from engage.lib.advice_engine import URGENT_NOTICE
from engage.models.advice import Advice
from engage.models.notification import Notification
from schemas.vitals import AdviceReadyEvent
from tests.llm_server import llm_stack as recording_llm_stack
from tests.vitals_helpers import ago
from tests.vitals_helpers import bp
from tests.vitals_helpers import relate
from tests.vitals_helpers import vital


pytestmark = pytest.mark.usefixtures("db")  # every test here checks what was stored.


MONTH = [
    bp(185, 100, taken_at=ago(days=2)),
    bp(150, 95, taken_at=ago(days=3)),
    bp(145, 92, taken_at=ago(days=4)),
    vital("glucose", 65, taken_at=ago(days=5)),
    vital("glucose", 120, taken_at=ago(days=6)),
    vital("heart_rate", 72, taken_at=ago(days=7)),
    vital("weight", 80, taken_at=ago(days=25)),
    vital("weight", 85, taken_at=ago(days=1)),
    vital("heart_rate", 75, taken_at=ago(days=45)),  # outside the 30 days
]
EXPECTED_RULES = ["bp_hypertensive_crisis", "bp_average_stage_2", "glucose_hypoglycemia", "weight_change", "data_completeness"]


async def patient_with_month(api, make_patient, **fields):
    patient = await make_patient(**fields)
    resp = await api.post("/api/vitals", {"readings": MONTH}, token=patient.access_token)
    assert resp.body["created"] == len(MONTH)
    return patient


async def test_offline_guideline_advice_is_pushed_and_listed(api, make_patient, connect, worker):
    patient = await patient_with_month(api, make_patient)
    sock = await connect(patient.access_token)
    resp = await api.post("/api/advice", {}, token=patient.access_token)
    assert resp.status == 202 and resp.body["advice"]["status"] == "pending"
    advice_id = resp.body["advice"]["id"]
    again = await api.post("/api/advice", {}, token=patient.access_token)
    assert again.status == 200 and again.body["advice"]["id"] == advice_id  # one job at a time

    event = AdviceReadyEvent.model_validate(await sock.wait_for("advice:ready", timeout=60)).advice
    assert event.id == advice_id and event.status == "ready" and event.provider == "guidelines"
    assert [item.rule for item in event.items] == EXPECTED_RULES
    assert all(item.guideline for item in event.items)
    assert event.urgent is True and event.disclaimer == DISCLAIMER
    assert event.items[0].severity == "urgent" and URGENT_NOTICE in event.items[0].text
    assert "6 reading(s)" not in event.items[-1].text and "8 reading(s)" in event.items[-1].text  # 30 days only
    assert event.summary["types"]["blood_pressure"]["categories"] == {"hypertensive_crisis": 1, "stage_2": 2}

    listed = await api.get("/api/advice", token=patient.access_token)
    assert listed.status == 200 and listed.body["advice"][0]["id"] == advice_id and listed.body["advice"][0]["status"] == "ready"
    # the patient was online: no notification
    assert await Notification.find({"kind": "advice_ready", "context.advice_id": advice_id}).count() == 0


async def test_doctor_requests_advice_for_a_related_patient(api, make_patient, make_doctor, connect, worker):
    patient = await patient_with_month(api, make_patient)
    doctor = await make_doctor()
    stranger = await make_doctor()
    await relate(doctor.id, patient.id)
    resp = await api.post("/api/advice", {"patient_id": patient.id}, token=stranger.access_token)
    assert resp.status == 404 and resp.error_code == "not_found"
    resp = await api.post("/api/advice", {}, token=doctor.access_token)
    assert resp.status == 422 and resp.body["error"]["field"] == "patient_id"
    resp = await api.post("/api/advice", {"patient_id": "nope"}, token=doctor.access_token)
    assert resp.status == 422
    sock = await connect(doctor.access_token)
    resp = await api.post("/api/advice", {"patient_id": patient.id}, token=doctor.access_token)
    assert resp.status == 202
    event = AdviceReadyEvent.model_validate(await sock.wait_for("advice:ready", timeout=60)).advice
    assert event.patient_id == patient.id and event.requested_by == doctor.id
    # the patient was offline: told through the notifications pipeline (no health content)
    notes = await Notification.find({"kind": "advice_ready", "context.advice_id": event.id}).to_list()
    assert notes and all(n.context == {"advice_id": event.id} for n in notes)
    listed = await api.get("/api/advice", params={"patient_id": patient.id}, token=doctor.access_token)
    assert [a["id"] for a in listed.body["advice"]] == [event.id]
    listed = await api.get("/api/advice", params={"patient_id": patient.id}, token=stranger.access_token)
    assert listed.status == 404


def llm_reply(body: dict) -> str:
    """Each finding phrased plainly, by id."""
    findings = json.loads(body["messages"][1]["content"])["findings"]
    return json.dumps({"items": [{"id": f["id"], "text": f"Plainly put ({f['rule']})."} for f in findings]})

@pytest.fixture(scope="module")
async def llm_stack(engage_environment, tmp_root, http_session, web):
    """A web process and a worker configured with an LLM, on their own RQ queues (Redis db 6)."""
    async with recording_llm_stack(llm_reply, engage_environment, tmp_root, http_session, redis_db=6, timeout_seconds=1) as stack:
        yield stack


async def test_llm_phrases_the_advice_without_identifiers(llm_stack, make_patient, connect):
    llm, api_llm, web_llm = llm_stack
    llm.mode = "ok"
    patient = await patient_with_month(api_llm, make_patient, name="Zelda Quartermain", phone="+14155550142")
    sock = await connect(patient.access_token, url=web_llm.url)
    resp = await api_llm.post("/api/advice", {}, token=patient.access_token)
    assert resp.status == 202
    event = AdviceReadyEvent.model_validate(await sock.wait_for("advice:ready", timeout=60)).advice
    assert event.provider == "llm" and event.fallback_reason is None
    assert [item.rule for item in event.items] == EXPECTED_RULES
    assert event.items[1].text == "Plainly put (bp_average_stage_2)."
    assert event.items[0].text == f"Plainly put (bp_hypertensive_crisis). {URGENT_NOTICE}"  # safety wording is ours
    stored = await Advice.get(PydanticObjectId(event.id))
    assert stored.model == "test-model" and stored.items[1]["guideline_text"].startswith("Your average blood pressure")

    sent = llm.requests[-1]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer test-llm-key"
    assert sent["body"]["model"] == "test-model" and [m["role"] for m in sent["body"]["messages"]] == ["system", "user"]
    raw = sent["raw"]
    for identifier in (patient.id, event.id, "Zelda", "Quartermain", patient.email, "4155550142", "2026-", "2027-"):
        assert identifier not in raw, identifier
    assert "bp_hypertensive_crisis" in raw and "160" in raw  # the findings (average 160/95.7) are there


@pytest.mark.parametrize(("mode", "reason"), [("error", "HTTP 500"), ("slow", "timed out"), ("garbage", "not JSON")])
async def test_llm_failure_falls_back_to_the_guideline_engine(llm_stack, make_patient, connect, mode, reason):
    llm, api_llm, web_llm = llm_stack
    llm.mode = mode
    patient = await patient_with_month(api_llm, make_patient)
    sock = await connect(patient.access_token, url=web_llm.url)
    count = len(llm.requests)
    assert (await api_llm.post("/api/advice", {}, token=patient.access_token)).status == 202
    event = AdviceReadyEvent.model_validate(await sock.wait_for("advice:ready", timeout=60)).advice
    assert len(llm.requests) == count + 1
    assert event.provider == "guidelines" and reason in event.fallback_reason
    assert [item.rule for item in event.items] == EXPECTED_RULES
    assert event.items[1].text.startswith("Your average blood pressure was 160/95.7 mmHg")
