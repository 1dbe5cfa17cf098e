"""Request logs: one JSON line per HTTP request with its route, status, duration, user and id;
no traceback for a client's mistake; the request id comes back in X-Request-ID."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.clients import Api
from tests.servers import start_engage
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def logged_web(engage_environment, tmp_root):
    """A web process that logs every request (the suite's others log warnings only), in JSON."""
    proc = start_engage("web", {**engage_environment, "ENGAGE_LOG_LEVEL": "info", "ENGAGE_LOG_FORMAT": "json"}, tmp_root)
    yield proc
    proc.stop()


def header(resp, name: str) -> str | None:
    return {key.lower(): value for key, value in resp.headers.items()}.get(name.lower())


def request_lines(proc, request_id: str) -> list[dict]:
    """The JSON lines of the log that carry this request id (every line must be JSON)."""
    lines = [json.loads(line) for line in proc.log_path.read_text(errors="replace").splitlines() if line.strip()]
    return [line for line in lines if line.get("request_id") == request_id]


async def request_line(proc, request_id: str) -> dict:
    (line,) = await wait_until(lambda: request_lines(proc, request_id), what=f"the log line of request {request_id}")
    return line


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "route"),
    [
        ("GET", "/healthz", None, 200, "/healthz"),
        ("GET", "/no/such/page", None, 404, "<unmatched>"),
        ("POST", "/api/auth/login", {"email": "not-an-address"}, 422, "/api/auth/login"),
        ("GET", "/api/me", None, 401, "/api/me"),
    ],
)
async def test_one_json_line_per_request_without_a_traceback(http_session, logged_web, method, path, body, status, route):
    request_id = f"test-{uuid.uuid4().hex}"
    resp = await Api(http_session, logged_web.url).request(method, path, json=body, headers={"X-Request-ID": request_id})
    assert resp.status == status, resp.body
    assert header(resp, "X-Request-ID") == request_id
    line = await request_line(logged_web, request_id)
    assert line["method"] == method and line["route"] == route and line["status"] == status
    assert isinstance(line["duration_ms"], float) and line["level"] == "info"
    assert "exc" not in line and "user_id" not in line


async def test_the_line_names_the_signed_in_user(api, http_session, logged_web, make_patient):
    patient = await make_patient()
    resp = await Api(http_session, logged_web.url).get("/api/me", token=patient.access_token)
    assert resp.status == 200, resp.body
    line = await request_line(logged_web, header(resp, "X-Request-ID"))
    assert line["user_id"] == patient.id and line["route"] == "/api/me" and line["status"] == 200


@pytest.mark.parametrize("given", ["", "short", "bad id with spaces", "x" * 200, '{"forged": "line"}'])
async def test_an_insane_request_id_is_replaced(http_session, logged_web, given):
    resp = await Api(http_session, logged_web.url).get("/healthz", headers={"X-Request-ID": given})
    request_id = header(resp, "X-Request-ID")
    assert request_id != given and len(request_id) == 32
    assert (await request_line(logged_web, request_id))["route"] == "/healthz"
