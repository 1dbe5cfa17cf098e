"""The assistant's optional LLM (the advice settings), through a local recording server: it
phrases the assistant's own words, never sees the patient's name, email, phone or ids, never
touches an emergency answer, and a failing provider leaves the template reply."""

from __future__ import annotations

import json

import pytest

from engage.models.user import ASSISTANT_USER_ID
from tests.llm_server import llm_stack as recording_llm_stack
from tests.chat_factories import send
from tests.clients import Api

PHRASED = "Hi there! I'm your clinic's automated helper."


def llm_reply(body: dict) -> str:
    return json.dumps({"text": PHRASED})

@pytest.fixture(scope="module")
async def llm_stack(engage_environment, tmp_root, http_session, web):
    """A web process and a worker configured with an LLM, on their own RQ queues (Redis db 7)."""
    async with recording_llm_stack(llm_reply, engage_environment, tmp_root, http_session, redis_db=7, timeout_seconds=2) as stack:
        yield stack


async def reply_to(client, conversation_id: str, text: str) -> dict:
    sent = await send(client, conversation_id, text)
    return await client.wait_for(
        "chat:message", lambda m: m["sender_id"] == ASSISTANT_USER_ID and m["client_id"] == f"assistant-reply-{sent['seq']}", timeout=30
    )


async def assistant_of(api_llm: Api, make_patient, connect, web_llm, **fields):
    patient = await make_patient(**fields)
    conversation = (await api_llm.post("/api/assistant/conversation", token=patient.access_token)).body["conversation"]
    client = await connect(patient.access_token, url=web_llm.url)
    return patient, conversation, client


async def test_llm_phrases_without_identifiers(llm_stack, make_patient, connect):
    llm, api_llm, web_llm = llm_stack
    llm.mode = "ok"
    patient, conversation, client = await assistant_of(api_llm, make_patient, connect, web_llm, name="Zelda Quartermain", phone="+14155550142")
    before = len(llm.requests)
    reply = await reply_to(client, conversation["id"], "hello, it's Zelda Quartermain here")
    assert reply["body"] == PHRASED and reply["assistant"]["intent"] == "greeting"
    sent = llm.requests[before:]
    assert len(sent) == 1
    raw = sent[0]["raw"]
    assert sent[0]["headers"]["Authorization"] == "Bearer test-llm-key" and sent[0]["body"]["model"] == "test-model"
    for private in ("Zelda", "Quartermain", patient.email, "4155550142", patient.id, conversation["id"]):
        assert private not in raw


async def test_llm_never_touches_an_emergency(llm_stack, make_patient, connect):
    llm, api_llm, web_llm = llm_stack
    llm.mode = "ok"
    _, conversation, client = await assistant_of(api_llm, make_patient, connect, web_llm)
    before = len(llm.requests)
    reply = await reply_to(client, conversation["id"], "my throat is closing up after eating peanuts")
    assert reply["assistant"]["triage"]["level"] == "emergency"
    assert reply["body"] != PHRASED and "Call 112 now" in reply["body"]
    assert len(llm.requests) == before


async def test_a_failing_llm_leaves_the_template(llm_stack, make_patient, connect):
    llm, api_llm, web_llm = llm_stack
    llm.mode = "error"
    _, conversation, client = await assistant_of(api_llm, make_patient, connect, web_llm)
    reply = await reply_to(client, conversation["id"], "hi")
    assert reply["assistant"]["intent"] == "greeting" and reply["body"].startswith("Hello! I'm the Engage Assistant")
