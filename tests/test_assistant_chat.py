"""The assistant as a chat participant, over websocket and polling: its conversation, replies
with intent, triage and actions, booking through real free slots, emergencies that alert the
care team, multi-turn cancelling, clinic answers from the FAQ, and handover to a doctor."""

from __future__ import annotations

import uuid

import pytest
from beanie import PydanticObjectId

from engage.models.notification import Notification
from engage.models.user import ASSISTANT_USER_ID
from schemas.assistant import AssistantInfo
from schemas.chat import MessageOut
from schemas.vitals import AlertEvent
from tests.booking_support import ALL_DAY, make_clinic, make_scheduled_doctor
from tests.chat_factories import open_pair, send, valid
from tests.waiting import wait_until

TRANSPORTS = ["websocket", "polling"]
REPLY_TIMEOUT = 30  # a worker job: fork, connect, answer


async def open_assistant(api, patient) -> dict:
    resp = await api.post("/api/assistant/conversation", token=patient.access_token)
    assert resp.status in (200, 201), resp.body
    return resp.body["conversation"]


async def ask(client, conversation_id: str, text: str) -> dict:
    """Send a message to the assistant and return its reply (schema-checked)."""
    sent = await send(client, conversation_id, text)
    reply = await client.wait_for(
        "chat:message",
        lambda m: m["conversation_id"] == conversation_id and m["sender_id"] == ASSISTANT_USER_ID and m["client_id"] == f"assistant-reply-{sent['seq']}",
        timeout=REPLY_TIMEOUT,
    )
    valid(MessageOut, reply)
    AssistantInfo.model_validate(reply["assistant"])
    assert reply["assistant"]["automated"] is True
    return reply


def action_types(reply: dict) -> list[str]:
    return [a["type"] for a in reply["assistant"]["actions"]]


async def test_conversation_is_created_once_for_patients_only(api, make_patient, make_doctor):
    patient = await make_patient()
    first = await api.post("/api/assistant/conversation", token=patient.access_token)
    again = await api.post("/api/assistant/conversation", token=patient.access_token)
    assert first.status == 201 and again.status == 200
    assert first.body["conversation"]["id"] == again.body["conversation"]["id"]
    other = first.body["conversation"]["other_party"]
    assert other["id"] == ASSISTANT_USER_ID and other["role"] == "assistant" and other["name"] == "Engage Assistant"
    listed = await api.get("/api/conversations", token=patient.access_token)
    assert first.body["conversation"]["id"] in [c["id"] for c in listed.body["conversations"]]
    doctor = await make_doctor()
    assert (await api.post("/api/assistant/conversation", token=doctor.access_token)).status == 403


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_assistant_answers_in_the_conversation(api, make_patient, connect, worker, transport):
    patient = await make_patient()
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token, transport)
    reply = await ask(client, conversation["id"], "hello")
    assert reply["assistant"]["intent"] == "greeting"
    assert reply["assistant"]["triage"] == {"level": None, "red_flags": [], "advice": None}
    # An ordinary conversation: sync and history carry the same message, with its assistant object.
    ack = await client.call("chat:sync", {"conversation_id": conversation["id"], "after_seq": 0})
    assert ack["ok"] and ack["messages"][-1] == reply
    history = await api.get(f"/api/conversations/{conversation['id']}/messages", token=patient.access_token)
    assert history.body["messages"][0] == reply
    assert "assistant" not in history.body["messages"][1]  # the patient's own message carries none


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_booking_through_the_assistant_uses_real_free_slots(api, admin, make_patient, make_doctor, connect, worker, transport):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, specialties=["dermatology"], weekly=ALL_DAY)
    patient = await make_patient()
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token, transport)
    reply = await ask(client, conversation["id"], "I have an itchy rash on my arms")
    assert reply["assistant"]["intent"] == "symptoms"
    assert reply["assistant"]["triage"]["level"] == "routine"
    slots = [a for a in reply["assistant"]["actions"] if a["type"] == "book_slot"]
    assert slots, reply
    # Every offered slot is a dermatologist's; the patient books one through the normal API.
    dermatologists = {d["id"] for d in (await api.get("/api/doctors", params={"specialty": "dermatology"}, token=patient.access_token)).body["doctors"]}
    assert {s["doctor_id"] for s in slots} <= dermatologists
    mine = [s for s in slots if s["doctor_id"] == doctor.id] or slots
    booked = await api.post("/api/appointments", {"doctor_id": mine[0]["doctor_id"], "start": mine[0]["start"], "client_id": uuid.uuid4().hex}, token=patient.access_token)
    assert booked.status == 201, booked.body
    # "Cancel it" after the list means the appointment just listed.
    listed = await ask(client, conversation["id"], "when is my next appointment?")
    assert listed["assistant"]["intent"] == "list_appointments"
    cancel = await ask(client, conversation["id"], "cancel it")
    assert cancel["assistant"]["intent"] == "cancel_appointment"
    assert cancel["assistant"]["actions"] == [{"type": "cancel", "appointment_id": booked.body["appointment"]["id"], "label": "Cancel this appointment"}]


async def test_a_choice_picks_an_offered_slot(api, admin, make_patient, make_doctor, connect, worker):
    await make_scheduled_doctor(api, admin, make_doctor, specialties=["urology"], weekly=ALL_DAY)
    patient = await make_patient()
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token)
    offer = await ask(client, conversation["id"], "I'd like to book an appointment with a urologist")
    offered = [a for a in offer["assistant"]["actions"] if a["type"] == "book_slot"]
    assert len(offered) >= 2
    picked = await ask(client, conversation["id"], "the second one")
    assert [(a["doctor_id"], a["start"]) for a in picked["assistant"]["actions"]] == [(offered[1]["doctor_id"], offered[1]["start"])]


async def test_booking_asks_which_specialty_when_it_cannot_tell(api, make_patient, connect, worker):
    patient = await make_patient()
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token)
    reply = await ask(client, conversation["id"], "I want to book an appointment")
    assert reply["assistant"]["intent"] == "book_appointment" and reply["assistant"]["actions"] == []
    assert "Which kind of doctor" in reply["body"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_emergency_tells_to_call_and_alerts_the_care_team(api, admin, make_patient, make_doctor, connect, worker, transport):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, specialties=["cardiology"], weekly=ALL_DAY)
    patient = await make_patient(name="Ada Emergency")
    await open_pair(api, patient, doctor)  # the doctor joins the patient's care team
    console = await connect(doctor.access_token, transport)
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token, transport)
    reply = await ask(client, conversation["id"], "I have crushing chest pain spreading to my left arm and I'm sweating")
    assert reply["assistant"]["triage"]["level"] == "emergency"
    assert reply["assistant"]["triage"]["red_flags"] == ["chest_pain_spreading"]
    assert reply["assistant"]["actions"] == [{"type": "call_emergency", "number": "112", "label": "Call 112"}]
    assert "112" in reply["body"]
    alert = await console.wait_for("vitals:alert", lambda e: e["alert"]["patient_id"] == patient.id, timeout=REPLY_TIMEOUT)
    AlertEvent.model_validate(alert)
    assert alert["alert"]["severity"] == "critical" and alert["alert"]["key"] == "assistant_emergency"
    assert "crushing" not in alert["alert"]["message"]  # the rule's name, not the patient's words


async def test_emergency_notifies_an_offline_care_team_without_the_message(api, admin, make_patient, make_doctor, connect, worker, db):
    doctor = await make_doctor()
    patient = await make_patient()
    await open_pair(api, patient, doctor)
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token)
    text = "my husband is not breathing"
    reply = await ask(client, conversation["id"], text)
    assert reply["assistant"]["triage"]["level"] == "emergency"

    async def notified() -> list[Notification]:
        return await Notification.find({"recipient_id": PydanticObjectId(doctor.id), "kind": "vitals_alert"}).to_list()

    found = await wait_until(notified, timeout=REPLY_TIMEOUT)
    assert all(text not in str(n.context) and "breathing" not in str(n.context) for n in found)


async def test_clinic_emergency_number_is_used(api, admin, make_patient, make_doctor, connect, worker):
    clinic = await make_clinic(api, admin)
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, clinic=clinic, specialties=["neurology"], weekly=ALL_DAY)
    assert (await api.put(f"/api/clinics/{clinic['id']}/faq", {"entries": [], "emergency_number": "999"}, token=admin.access_token)).status == 200
    patient = await make_patient()
    await open_pair(api, patient, doctor)
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token)
    reply = await ask(client, conversation["id"], "his face is drooping on one side and his speech is slurred")
    assert reply["assistant"]["actions"] == [{"type": "call_emergency", "number": "999", "label": "Call 999"}]


async def test_medication_questions_get_no_dose_and_an_offer_of_a_person(api, make_patient, connect, worker):
    patient = await make_patient()
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token)
    reply = await ask(client, conversation["id"], "how much ibuprofen can I take a day?")
    assert reply["assistant"]["intent"] == "medication_question"
    assert action_types(reply) == ["handover"]
    assert " mg" not in reply["body"] and "can't advise on doses" in reply["body"]


async def test_clinic_questions_are_answered_from_its_records_and_faq(api, admin, make_patient, make_doctor, connect, worker):
    clinic = await make_clinic(api, admin, address="1 Harbour Street", phone="+14155550100")
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, clinic=clinic, specialties=["general_practice"])
    faq = {"entries": [{"question": "Is there parking at the clinic?", "answer": "Yes: free parking behind the building."}]}
    assert (await api.put(f"/api/clinics/{clinic['id']}/faq", faq, token=admin.access_token)).status == 200
    patient = await make_patient()
    await open_pair(api, patient, doctor)
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token)
    parking = await ask(client, conversation["id"], "is there parking?")
    assert parking["assistant"]["intent"] == "clinic_info" and parking["body"] == "Yes: free parking behind the building."
    address = await ask(client, conversation["id"], "what's your address?")
    assert "1 Harbour Street" in address["body"]
    hours = await ask(client, conversation["id"], "what are your opening hours?")
    assert "Monday 09:00-17:00" in hours["body"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_handover_posts_a_summary_to_the_patients_doctor(api, admin, make_patient, make_doctor, connect, worker, transport):
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor, specialties=["orthopedics"])
    patient = await make_patient(name="Bea Handover")
    pair = await open_pair(api, patient, doctor)
    console = await connect(doctor.access_token, transport)
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token, transport)
    await ask(client, conversation["id"], "my knee has been swollen for a week")
    reply = await ask(client, conversation["id"], "I want to talk to a real person")
    assert reply["assistant"]["intent"] == "talk_to_human"
    assert reply["assistant"]["actions"][0]["type"] == "handover" and reply["assistant"]["actions"][0]["conversation_id"] == pair.id
    summary = await console.wait_for("chat:message", lambda m: m["conversation_id"] == pair.id, timeout=REPLY_TIMEOUT)
    valid(MessageOut, summary)
    assert summary["assistant"]["summary"] is True and summary["assistant"]["automated"] is True
    assert "my knee has been swollen for a week" in summary["body"] and "Bea Handover" in summary["body"]
    # First in the doctor's queue, and the listing shows it is a handover summary.
    listed = await api.get("/api/conversations", token=doctor.access_token)
    assert listed.body["conversations"][0]["id"] == pair.id
    assert listed.body["conversations"][0]["last_message"]["assistant"]["summary"] is True


async def test_handover_without_a_doctor_goes_to_an_on_duty_doctor(api, admin, make_patient, make_doctor, connect, worker):
    await make_scheduled_doctor(api, admin, make_doctor, specialties=["general_practice"], weekly=ALL_DAY)
    patient = await make_patient()
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token)
    reply = await ask(client, conversation["id"], "can I speak to a human please")
    handover = reply["assistant"]["actions"][0]
    assert handover["type"] == "handover" and handover["conversation_id"]
    opened = await api.get(f"/api/conversations/{handover['conversation_id']}", token=patient.access_token)
    assert opened.status == 200 and opened.body["conversation"]["other_party"]["role"] == "doctor"
    # The doctor is in the patient's care team now.
    team = await api.get("/api/me/care-team", token=patient.access_token)
    assert opened.body["conversation"]["doctor_id"] in str(team.body)


async def test_the_assistant_answers_only_its_own_conversations(api, make_patient, make_doctor, connect, worker):
    """A patient's message to a doctor gets no assistant reply."""
    pair = await open_pair(api, await make_patient(), await make_doctor())
    client = await connect(pair.patient.access_token)
    doctor = await connect(pair.doctor.access_token)
    await send(client, pair.id, "I can't breathe")
    await doctor.wait_for("chat:message", lambda m: m["conversation_id"] == pair.id)
    # The doctor's own reply is the next message: nothing from the assistant slipped in between.
    answer = await send(doctor, pair.id, "Call 112 now")
    assert answer["seq"] == 2


async def test_naming_a_doctor_offers_only_their_slots(api, admin, make_patient, make_doctor, connect, worker):
    """Multi-turn: specialty first, then the doctor by name."""
    surname = f"Okafor{uuid.uuid4().hex[:4]}"
    chosen, _ = await make_scheduled_doctor(api, admin, lambda: make_doctor(name=f"Ada {surname}"), specialties=["gynecology"], weekly=ALL_DAY)
    await make_scheduled_doctor(api, admin, make_doctor, specialties=["gynecology"], weekly=ALL_DAY)
    patient = await make_patient()
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token)
    first = await ask(client, conversation["id"], "I need to see a gynecologist")
    assert {a["type"] for a in first["assistant"]["actions"]} == {"book_slot"}
    named = await ask(client, conversation["id"], f"with Dr {surname} please")
    slots = [a for a in named["assistant"]["actions"] if a["type"] == "book_slot"]
    assert slots and {a["doctor_id"] for a in slots} == {chosen.id}, named["body"]
    later = await ask(client, conversation["id"], "tomorrow afternoon")
    assert {a["doctor_id"] for a in later["assistant"]["actions"] if a["type"] == "book_slot"} == {chosen.id}


async def test_the_assistant_is_not_counted_as_a_doctor_in_statistics(api, admin, make_patient, connect, worker):
    patient = await make_patient()
    conversation = await open_assistant(api, patient)
    client = await connect(patient.access_token)
    await ask(client, conversation["id"], "hello")
    stats = await api.get("/api/admin/stats", params={"days": "30"}, token=admin.access_token)
    assert stats.status == 200, stats.body
    assert ASSISTANT_USER_ID not in str(stats.body)
