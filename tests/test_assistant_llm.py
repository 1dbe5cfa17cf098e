"""The assistant's optional LLM (the advice settings), through a local recording server: it
phrases the assistant's own words, never sees the patient's name, email, phone or ids, never
touches an emergency answer, and a failing provider leaves the template reply."""

from __future__ import annotations

import json

import pytest
from aiohttp import web as aioweb

from engage.embedded import free_port
from engage.models.user import ASSISTANT_USER_ID
from tests.chat_factories import send
from tests.clients import Api
from tests.servers import start_engage

PHRASED = "Hi there! I'm your clinic's automated helper."


class RecordingLLM:
    """An OpenAI-compatible chat-completions server that records each request."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.mode = "ok"
        self.port = free_port()
        self.runner: aioweb.AppRunner | None = None

    async def completions(self, request: aioweb.Request) -> aioweb.StreamResponse:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body, "raw": json.dumps(body)})
        if self.mode == "error":
            return aioweb.json_response({"error": {"message": "overloaded"}}, status=500)
        content = json.dumps({"text": PHRASED})
        return aioweb.json_response({"id": "cmpl-1", "object": "chat.completion", "model": body["model"],
                                     "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})

    async def start(self) -> None:
        app = aioweb.Application()
        app.router.add_post("/v1/chat/completions", self.completions)
        self.runner = aioweb.AppRunner(app)
        await self.runner.setup()
        await aioweb.TCPSite(self.runner, "127.0.0.1", self.port).start()


@pytest.fixture(scope="module")
async def llm_stack(engage_environment, tmp_root, http_session, web):
    """A web process and a worker configured with an LLM, on their own RQ queues (Redis db 7)."""
    llm = RecordingLLM()
    await llm.start()
    env = dict(engage_environment)
    env.update({
        "REDIS_URL": env["REDIS_URL"].rsplit("/", 1)[0] + "/7",
        "ENGAGE_LLM_BASE_URL": f"http://127.0.0.1:{llm.port}/v1",
        "ENGAGE_LLM_API_KEY": "test-llm-key",
        "ENGAGE_LLM_MODEL": "test-model",
        "ENGAGE_LLM_TIMEOUT_SECONDS": "2",
    })
    web_llm = start_engage("web", env, tmp_root)
    worker_llm = start_engage("worker", env, tmp_root)
    yield llm, Api(http_session, web_llm.url), web_llm
    worker_llm.stop()
    web_llm.stop()
    await llm.runner.cleanup()


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
