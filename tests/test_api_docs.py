"""The API documents: valid, served, and complete against what the app registers and publishes."""

from __future__ import annotations

import ast
import importlib
import json
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

from engage.config import Settings
from engage.lib.api_docs import openapi_path
from engage.lib.api_docs import route_keys
from engage.web import create_asgi_app
from schemas.api import ROUTE_SCHEMAS
from schemas.events import CLIENT_EVENTS
from schemas.events import ERROR_ACK
from schemas.events import LIFECYCLE_EVENTS
from schemas.events import SERVER_EVENTS
from tests.booking_support import book
from tests.booking_support import future_day
from tests.booking_support import iso
from tests.booking_support import local_slot
from tests.booking_support import make_scheduled_doctor
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.servers import ROOT
from tests.servers import SECRET_KEY

ASYNCAPI_SCHEMA = Path(__file__).parent / "asyncapi" / "3.0.0.schema.json"


@pytest.fixture(scope="module")
def asgi_app():
    """The app as a web process builds it (nothing served: only its route table and socket handlers are read)."""
    return create_asgi_app(Settings(secret_key=SECRET_KEY))


@pytest.fixture(scope="module")
async def openapi(http_session, web) -> dict[str, Any]:
    async with http_session.get(web.url + "/api/openapi.json") as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


@pytest.fixture(scope="module")
async def asyncapi(http_session, web) -> dict[str, Any]:
    async with http_session.get(web.url + "/api/asyncapi.json") as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def _unresolved_refs(document: dict[str, Any]) -> list[str]:
    """Every local $ref in the document that does not point at something."""

    def resolve(pointer: str) -> bool:
        node: Any = document
        for part in pointer.removeprefix("#/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    missing = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not resolve(ref):
                missing.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    return missing


# ---- OpenAPI ----------------------------------------------------------------------------------


async def test_the_openapi_document_is_valid_openapi_3_1(openapi):
    assert openapi["openapi"] == "3.1.0"
    validate_openapi(openapi)
    assert _unresolved_refs(openapi) == []


def test_every_registered_route_is_described_and_every_described_route_is_registered(asgi_app):
    registered = {key for key, _ in route_keys(asgi_app.other_asgi_app)}
    assert sorted(registered - set(ROUTE_SCHEMAS)) == [], "routes the app serves but schemas.api.ROUTE_SCHEMAS does not describe"
    assert sorted(set(ROUTE_SCHEMAS) - registered) == [], "routes schemas.api.ROUTE_SCHEMAS describes but the app does not serve"


async def test_the_served_document_has_exactly_the_apps_operations(openapi, asgi_app):
    served = {f"{method.upper()} {path}" for path, item in openapi["paths"].items() for method in item}
    registered = {f"{key.split(' ')[0]} {openapi_path(rule.rule)}" for key, rule in route_keys(asgi_app.other_asgi_app)}
    assert served == registered
    undescribed = [f"{m} {p}" for p, item in openapi["paths"].items() for m, op in item.items() if "default" in op["responses"]]
    assert undescribed == []


async def test_public_routes_need_no_token_and_the_others_a_bearer_token(openapi):
    """The security requirement follows engage.policy: the sign-in routes are open, a patient's vitals are not."""
    assert openapi["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An access token from POST /api/auth/login."
    }
    assert openapi["security"] == [{"bearerAuth": []}]
    assert openapi["paths"]["/api/auth/login"]["post"]["security"] == []
    assert openapi["paths"]["/api/openapi.json"]["get"]["security"] == []
    vitals = openapi["paths"]["/api/patients/{patient_id}/vitals"]["get"]
    assert "security" not in vitals and vitals["x-access-rule"] == "patient_or_care_team"
    assert set(vitals["responses"]) >= {"200", "401", "403", "404", "422"}


async def test_schemas_are_the_models_own(openapi):
    """Bodies and answers are the pydantic models the views use, errors one shared shape."""
    book = openapi["paths"]["/api/appointments"]["post"]
    assert book["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BookRequest"}
    assert book["responses"]["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AppointmentEnvelope"}
    assert book["responses"]["409"] == {"$ref": "#/components/responses/Error409"}
    schemas = openapi["components"]["schemas"]
    assert schemas["AppointmentEnvelope"]["properties"]["appointment"] == {"$ref": "#/components/schemas/AppointmentOut"}
    assert set(schemas["ErrorBody"]["required"]) == {"code", "message"}
    assert schemas["BookRequest"]["additionalProperties"] is False
    params = {p["name"]: p for p in openapi["paths"]["/api/patients/{patient_id}/vitals"]["get"]["parameters"]}
    assert params["type"]["required"] is True and params["from"]["required"] is False


# Models that are free-form on purpose: the documents themselves, SendGrid's events.
FREE_FORM = {"JsonDocument", "SendGridEvent"}


async def test_every_documented_model_shows_its_fields(openapi, asyncapi):
    """A model whose schema lost its fields (a model_serializer with a dict return annotation does that) documents nothing."""
    for document in (openapi, asyncapi):
        bare = [
            name for name, schema in document["components"]["schemas"].items()
            if name not in FREE_FORM and schema.get("type") == "object" and "properties" not in schema
        ]
        assert bare == []


async def test_the_documents_are_public_and_absolute_urls_never_come_from_the_host_header(http_session, web):
    async with http_session.get(web.url + "/api/openapi.json", headers={"Host": "evil.example"}) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert "evil.example" not in json.dumps(body)
    assert body["servers"] == [{"url": "/"}]


# ---- AsyncAPI ---------------------------------------------------------------------------------


async def test_the_asyncapi_document_is_valid_asyncapi_3(asyncapi):
    schema = json.loads(ASYNCAPI_SCHEMA.read_text())
    errors = [f"{list(e.path)}: {e.message[:200]}" for e in jsonschema.Draft7Validator(schema).iter_errors(asyncapi)]
    assert errors == []
    assert _unresolved_refs(asyncapi) == []


def test_every_socket_handler_is_described_and_every_described_event_is_handled(asgi_app):
    handled = set(_socketio_server(asgi_app).handlers["/"])
    assert sorted(handled - LIFECYCLE_EVENTS - set(CLIENT_EVENTS)) == [], "handlers schemas.events.CLIENT_EVENTS does not describe"
    assert sorted(set(CLIENT_EVENTS) - handled) == [], "events schemas.events.CLIENT_EVENTS describes but no handler takes"


def _socketio_server(asgi_app):
    return asgi_app.other_asgi_app.extensions["sio"]


def _published_events() -> dict[str, list[str]]:
    """Every event name the code hands to publish_*() or emit(), with where: read from the source."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "engage").rglob("*.py")):
        module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        module = None

        def names(node: ast.AST, module_name: str = module_name) -> list[str]:
            nonlocal module
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                return [node.value]
            if isinstance(node, ast.IfExp):
                return names(node.body, module_name) + names(node.orelse, module_name)
            if isinstance(node, ast.Name):
                module = module or importlib.import_module(module_name)
                value = getattr(module, node.id, None)
                return [value] if isinstance(value, str) else []  # a parameter: its callers are scanned too
            return []

        for call in ast.walk(tree):
            if not isinstance(call, ast.Call) or not call.args:
                continue
            func = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if not (func.startswith("publish") or func in ("emit", "emit_many")):
                continue
            first = call.args[0]
            candidates = [first]
            if isinstance(first, (ast.List, ast.ListComp)):  # publish_many([(event, payload, users), ...])
                candidates = [t.elts[0] for t in ast.walk(first) if isinstance(t, ast.Tuple) and t.elts]
            for candidate in candidates:
                for event in names(candidate):
                    found.setdefault(event, []).append(f"{path.relative_to(ROOT)}:{call.lineno}")
    return found


def test_every_published_event_is_described_and_every_described_event_is_published():
    published = _published_events()
    assert "chat:message" in published and "vitals:reading" in published, "the source scan finds nothing: it is broken"
    assert {e: w for e, w in published.items() if e not in SERVER_EVENTS} == {}, "events published but not in schemas.events.SERVER_EVENTS"
    assert sorted(set(SERVER_EVENTS) - set(published)) == [], "events schemas.events.SERVER_EVENTS describes but nothing publishes"


async def test_events_and_acks_on_the_wire_match_their_documented_schemas(api, connect, make_patient, make_doctor):
    """A patient and their doctor chat and the patient submits a reading: every event and ack validates."""
    patient = await make_patient()
    doctor = await make_doctor()
    opened = await api.post("/api/conversations", {"doctor_id": doctor.id}, token=patient.access_token)
    assert opened.status in (200, 201), opened.body
    conversation_id = opened.body["conversation"]["id"]
    patient_socket = await connect(patient.access_token)
    doctor_socket = await connect(doctor.access_token)
    acks = {
        "vitals:watch": await doctor_socket.call("vitals:watch", {"patient_id": patient.id}),
        "chat:typing": await patient_socket.call("chat:typing", {"conversation_id": conversation_id, "typing": True}),
        "chat:send": await patient_socket.call("chat:send", {"conversation_id": conversation_id, "client_id": "c-1", "body": "Hello"}),
        "vitals:submit": await patient_socket.call("vitals:submit", {"type": "heart_rate", "value": 72, "taken_at": "2026-01-02T03:04:05Z"}),
        "chat:sync": await doctor_socket.call("chat:sync", {"conversation_id": conversation_id, "after_seq": 0}),
        "chat:read": await doctor_socket.call("chat:read", {"conversation_id": conversation_id, "seq": 1}),
    }
    for event, ack in acks.items():
        assert ack["ok"] is True, (event, ack)
        CLIENT_EVENTS[event].ack.model_validate(ack)
    failed = await patient_socket.call("chat:send", {"conversation_id": conversation_id})
    assert failed["ok"] is False
    ERROR_ACK.model_validate(failed)
    await doctor_socket.wait_for("chat:message")
    await doctor_socket.wait_for("chat:typing")
    await doctor_socket.wait_for("vitals:reading")
    await patient_socket.wait_for("chat:read")
    received = doctor_socket.events + patient_socket.events
    for event, data in received:
        SERVER_EVENTS[event].model_validate(data)
    assert {e for e, _ in received} >= {"chat:message", "chat:typing", "vitals:reading", "chat:read"}


async def test_booking_and_alert_events_on_the_wire_match_their_documented_schemas(api, connect, admin, make_patient, make_doctor):
    """A patient watching a schedule books and cancels; their doctor acknowledges an alert: every event and ack validates."""
    doctor, _ = await make_scheduled_doctor(api, admin, make_doctor)
    patient = await make_patient()
    patient_socket = await connect(patient.access_token)
    doctor_socket = await connect(doctor.access_token)
    watch = await patient_socket.call("schedule:watch", {"doctor_id": doctor.id})
    CLIENT_EVENTS["schedule:watch"].ack.model_validate(watch)
    booked = await book(api, patient, doctor.id, local_slot(future_day(), "10:00"))
    assert booked.status == 201, booked.body
    cancelled = await api.post(f"/api/appointments/{booked.body['appointment']['id']}/cancel", {}, token=patient.access_token)
    assert cancelled.status == 200, cancelled.body
    relation = await api.post("/api/admin/care-relations", {"patient_id": patient.id, "doctor_id": doctor.id}, token=admin.access_token)
    assert relation.status == 201, relation.body
    watched = await doctor_socket.call("vitals:watch", {"patient_id": patient.id})
    CLIENT_EVENTS["vitals:watch"].ack.model_validate(watched)
    set_thresholds = await api.put(f"/api/patients/{patient.id}/thresholds", {"heart_rate": {"high": 120}}, token=doctor.access_token)
    assert set_thresholds.status == 200, set_thresholds.body
    submitted = await patient_socket.call("vitals:submit", {"type": "heart_rate", "value": 150, "taken_at": iso(datetime.now(UTC))})
    CLIENT_EVENTS["vitals:submit"].ack.model_validate(submitted)
    alert = await doctor_socket.wait_for("vitals:alert")
    acked = await doctor_socket.call("vitals:ack", {"alert_id": alert["alert"]["id"]})
    CLIENT_EVENTS["vitals:ack"].ack.model_validate(acked)
    for event in ("slot:taken", "slot:freed", "appointment:booked", "appointment:cancelled"):
        await patient_socket.wait_for(event)
    await doctor_socket.wait_for("vitals:acked")
    received = doctor_socket.events + patient_socket.events
    for event, data in received:
        SERVER_EVENTS[event].model_validate(data)
    assert {e for e, _ in received} >= {"slot:taken", "slot:freed", "appointment:booked", "appointment:cancelled", "vitals:alert", "vitals:acked", "vitals:reading"}


# ---- the reference page -----------------------------------------------------------------------


async def test_the_reference_page_renders_the_openapi_document_under_the_pages_csp(http_session, web, open_page):
    async with http_session.get(web.url + "/api/docs") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/html")
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
    page = await open_page()
    await page.goto("/api/docs")
    # Swagger UI lists the tags folded once it has fetched and rendered the document; a tag opens
    # to one block per operation.
    async with http_session.get(web.url + "/api/openapi.json") as resp:
        document = await resp.json()
    tag_names = {tag for operations in document["paths"].values() for operation in operations.values() for tag in operation["tags"]}
    tags = page.page.locator(".opblock-tag")
    await tags.first.wait_for(timeout=20_000)
    assert await tags.count() == len(tag_names)
    await page.page.locator(".opblock-tag[data-tag='vitals']").click()
    await page.page.wait_for_selector(".opblock-summary-path[data-path='/api/patients/{patient_id}/vitals']", timeout=20_000)
    # Nothing loads from another origin.
    requested = await page.page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert [url for url in requested if not url.startswith(web.url)] == []
