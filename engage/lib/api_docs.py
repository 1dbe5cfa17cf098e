"""The API documents, built from what the app registers and the tables that describe it.

OpenAPI 3.1: every rule of the Quart app's url_map, shaped by schemas.api.ROUTE_SCHEMAS, secured
by engage.policy.ROUTE_POLICIES (public rules need no token, the others a Bearer access token).
AsyncAPI 3.0: the Socket.IO events of schemas.events, secured by engage.policy.EVENT_POLICIES.
Component schemas are the pydantic models' own JSON Schemas, so the documents cannot drift
from what the views validate and answer; tests/test_api_docs.py checks both directions.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode
from pydantic.json_schema import models_json_schema
from quart import Quart

from engage.policy import EVENT_POLICIES
from engage.policy import ROUTE_POLICIES
from engage.policy import RULES
from engage.policy import Rule
from engage.policy import route_key
from schemas.api import ROUTE_SCHEMAS
from schemas.api import ErrorResponse
from schemas.api import Json
from schemas.api import RouteSchema
from schemas.api import Shape
from schemas.api import Text
from schemas.events import CLIENT_EVENTS
from schemas.events import ERROR_ACK
from schemas.events import SERVER_EVENTS
from schemas.events import ConnectAuth

TITLE = "Engage"
VERSION = "1.0.0"
SCHEMA_REF = "#/components/schemas/{model}"
IGNORED_METHODS = {"HEAD", "OPTIONS"}  # Quart answers these by itself for every rule
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
ID_PATTERN = "^[0-9a-f]{24}$"


def openapi_path(rule: str) -> str:
    """Quart's /a/<conv:name>/b as OpenAPI's /a/{name}/b."""
    return _ARGUMENT.sub(r"{\1}", rule)


def route_keys(app: Quart) -> list[tuple[str, Any]]:
    """("METHOD /rule", rule) for every route the app serves, in registration order."""
    keys = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - IGNORED_METHODS):
            keys.append((route_key(method, rule.rule), rule))
    return keys


class _Components:
    """Collects every model a document uses and renders their JSON Schemas once, in one namespace."""

    def __init__(self) -> None:
        self.models: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> tuple[type[BaseModel], JsonSchemaMode]:
        self.models[(model, mode)] = None
        return (model, mode)

    def render(self) -> tuple[dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]], dict[str, Any]]:
        refs, top = models_json_schema(list(self.models), ref_template=SCHEMA_REF)
        return refs, top.get("$defs", {})


def _resolve(value: Any, refs: dict) -> Any:
    """Replace the (model, mode) placeholders left in a document by their $refs."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], type):
        return refs[value]
    if isinstance(value, dict):
        return {k: _resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, refs) for v in value]
    return value


def _status_text(status: int) -> str:
    return HTTPStatus(status).phrase


def _content(shape: Shape | type[BaseModel], components: _Components, mode: JsonSchemaMode, as_list: bool = False) -> dict[str, Any] | None:
    if shape is None:
        return None
    if isinstance(shape, Text):
        media_types = shape.media_type if isinstance(shape.media_type, tuple) else (shape.media_type,)
        return {media_type: {"schema": {"type": "string"}} for media_type in media_types}
    media_type = "application/json"
    if isinstance(shape, Json):
        media_type, shape = shape.media_type, shape.model
    if isinstance(shape, tuple):
        schema: Any = {"oneOf" if mode == "validation" else "anyOf": [components.ref(m, mode) for m in shape]}
    else:
        schema = components.ref(shape, mode)
    if as_list:
        schema = {"type": "array", "items": schema}
    return {media_type: {"schema": schema}}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation", ref_template=SCHEMA_REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _path_parameters(rule: Any) -> list[dict[str, Any]]:
    params = []
    for name in rule.arguments:
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if name.endswith("_id"):
            schema = {"type": "string", "pattern": ID_PATTERN}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _error_statuses(route: RouteSchema, rule: Rule | None, has_path_params: bool) -> list[int]:
    """What a route may answer besides success: its own statuses, plus those of every route of its kind."""
    statuses = set(route.errors)
    spec = RULES.get(rule) if rule is not None else None
    signed_in = spec is not None and spec.roles is not None
    if signed_in:
        statuses |= {401, 403, 404, 422, 429}
    if rule == Rule.signed_webhook:
        statuses |= {403}
    if route.body is not None:
        statuses |= {400, 413, 422}
    if route.query is not None:
        statuses |= {422}
    if has_path_params:
        statuses |= {404, 422}
    if rule is not None and rule in (Rule.public, Rule.signed_webhook) and (route.body is not None or route.query is not None):
        statuses |= {429}  # sign-in and sign-up are rate limited
    if signed_in or rule == Rule.signed_webhook or route.body is not None or route.query is not None:
        statuses |= {503}  # the database or Redis restarting (engage.errors.unavailable_error)
    return sorted(statuses)


def _operation(key: str, rule: Any, route: RouteSchema | None, components: _Components) -> dict[str, Any]:
    policy = ROUTE_POLICIES.get(key)
    operation: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_") + ("" if len(rule.methods - IGNORED_METHODS) == 1 else "_" + key.split(" ")[0].lower()),
        "tags": [rule.endpoint.split(".")[0]],
    }
    if route is None:
        # Served, but not described: the document stays valid and tests/test_api_docs.py fails.
        operation.update({"summary": "(not described in schemas.api.ROUTE_SCHEMAS)", "responses": {"default": {"description": "Undescribed"}}})
        if rule.arguments:
            operation["parameters"] = _path_parameters(rule)
        return operation
    operation["summary"] = route.summary
    description = [route.description] if route.description else []
    if policy is not None:
        spec = RULES[policy]
        operation["x-access-rule"] = policy.value
        if spec.roles is not None:
            operation["x-roles"] = sorted(spec.roles)
        description.append(f"Access: {spec.meaning}" + (f" Roles: {', '.join(sorted(spec.roles))}." if spec.roles else ""))
        if spec.roles is None:
            operation["security"] = []
    else:
        description.append("Access: no rule in engage.policy (refused).")
    operation["description"] = " ".join(description)
    parameters = _path_parameters(rule) + (_query_parameters(route.query) if route.query is not None else [])
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {"required": route.body_required, "content": _content(route.body, components, "validation", route.body_is_list)}
    responses: dict[str, Any] = {}
    for status, shape in sorted(route.responses.items()):
        response: dict[str, Any] = {"description": _status_text(status)}
        content = _content(shape, components, "serialization")
        if content:
            response["content"] = content
        responses[str(status)] = response
    for status in _error_statuses(route, policy, bool(rule.arguments)):
        if str(status) not in responses:
            responses[str(status)] = {"$ref": f"#/components/responses/Error{status}"}
    operation["responses"] = responses
    return operation


def openapi_document(app: Quart, server_url: str = "/") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route the app serves."""
    components = _Components()
    error_ref = components.ref(ErrorResponse, "serialization")
    paths: dict[str, dict[str, Any]] = {}
    error_statuses: set[int] = set()
    for key, rule in route_keys(app):
        method = key.split(" ")[0].lower()
        operation = _operation(key, rule, ROUTE_SCHEMAS.get(key), components)
        error_statuses |= {int(s) for s, r in operation["responses"].items() if "$ref" in r}
        paths.setdefault(openapi_path(rule.rule), {})[method] = operation
    refs, schemas = components.render()
    retry_after = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}}
    error_responses = {
        f"Error{status}": {
            "description": _status_text(status),
            **({"headers": retry_after} if status in (429, 503) else {}),
            "content": {"application/json": {"schema": error_ref}},
        }
        for status in sorted(error_statuses)
    }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Engage's REST API. Errors are {\"error\": {\"code\", \"message\", \"field\"?, \"details\"?}}. "
            "Realtime events are in the AsyncAPI document at /api/asyncapi.json.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An access token from POST /api/auth/login."}},
            "responses": error_responses,
            "schemas": schemas,
        },
    }
    return _resolve(document, refs)


def _asyncapi_discriminators(value: Any) -> Any:
    """AsyncAPI's Schema Object names its discriminator by property (a string); pydantic writes
    OpenAPI's object ({"propertyName", "mapping"})."""
    if isinstance(value, dict):
        out = {k: _asyncapi_discriminators(v) for k, v in value.items()}
        if isinstance(out.get("discriminator"), dict) and "propertyName" in out["discriminator"]:
            out["discriminator"] = out["discriminator"]["propertyName"]
        return out
    if isinstance(value, list):
        return [_asyncapi_discriminators(v) for v in value]
    return value


def _message_key(event: str, kind: str) -> str:
    # AsyncAPI component keys allow [A-Za-z0-9._-] only; chat:typing goes both ways, hence the kind.
    return f"{event.replace(':', '.')}.{kind}"


def asyncapi_document(server_host: str = "localhost", server_protocol: str = "ws") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the Socket.IO events: what clients send (with acks), what the server pushes."""
    components = _Components()
    error_ack = components.ref(ERROR_ACK, "serialization")
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    channel_ref = {"$ref": "#/channels/socketio"}

    def message_ref(key: str) -> dict[str, str]:
        return {"$ref": f"#/channels/socketio/messages/{key}"}

    messages["error.ack"] = {"name": "ack", "title": "Failure ack", "summary": "{\"ok\": false, \"error\": {...}}", "payload": error_ack}
    for event, described in CLIENT_EVENTS.items():
        request_key, ack_key = _message_key(event, "request"), _message_key(event, "ack")
        messages[request_key] = {"name": event, "title": event, "summary": described.summary, "payload": components.ref(described.payload, "validation")}
        messages[ack_key] = {"name": "ack", "title": f"{event} ack", "payload": components.ref(described.ack, "serialization")}
        operation: dict[str, Any] = {
            "action": "receive",
            "channel": channel_ref,
            "summary": described.summary,
            "messages": [message_ref(request_key)],
            "reply": {"channel": channel_ref, "messages": [message_ref(ack_key), message_ref("error.ack")]},
        }
        policy = EVENT_POLICIES.get(event)
        if policy is not None:
            spec = RULES[policy]
            operation["description"] = f"Access: {spec.meaning}" + (f" Roles: {', '.join(sorted(spec.roles))}." if spec.roles else "")
            operation["x-access-rule"] = policy.value
        operations[f"{_message_key(event, 'request')}.receive"] = operation
    for event, model in SERVER_EVENTS.items():
        key = _message_key(event, "event")
        summary = (model.__doc__ or event).strip().splitlines()[0]
        messages[key] = {"name": event, "title": event, "summary": summary, "payload": components.ref(model, "serialization")}
        operations[f"{key}.send"] = {"action": "send", "channel": channel_ref, "summary": summary, "messages": [message_ref(key)]}
    auth_ref = components.ref(ConnectAuth, "validation")
    refs, schemas = components.render()
    document = {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"{TITLE} realtime events",
            "version": VERSION,
            "description": "Socket.IO (engine.io v4) on the web port, path /socket.io/. Connect with auth {\"token\": <access token>}; "
            "an invalid token refuses the connection. Each client event takes a callback: its ack is the event's reply "
            "message, or {\"ok\": false, \"error\": {...}}. Each event's access rule is engage.policy.EVENT_POLICIES.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "engage": {
                "host": server_host,
                "protocol": server_protocol,
                "pathname": "/socket.io/",
                "description": "Socket.IO over WebSocket (or HTTP long-polling).",
                "security": [{"$ref": "#/components/securitySchemes/accessToken"}],
            }
        },
        "channels": {
            "socketio": {
                "address": "/",
                "title": "The default Socket.IO namespace",
                "description": "Every event travels on the default namespace; the server routes pushes through rooms (a user, a conversation's participants, a patient's watchers, a schedule's watchers).",
                "messages": messages,
            }
        },
        "operations": operations,
        "components": {
            "schemas": _asyncapi_discriminators(schemas),
            "securitySchemes": {
                "accessToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The access token, sent as the Socket.IO CONNECT packet's auth: {\"token\": \"...\"}.",
                }
            },
            "x-connect-auth": auth_ref,
        },
    }
    return _resolve(document, refs)
