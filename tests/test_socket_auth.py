"""Socket.IO on the same port: token required on connect, over websocket and polling."""

from __future__ import annotations

import time

import jwt
import pytest
import socketio

from engage.events import publish_to_users
from engage.models.user import ASSISTANT_USER_ID
from tests.servers import SECRET_KEY

TRANSPORTS = ["websocket", "polling"]


async def refused_message(url: str, auth, transport: str) -> str:
    client = socketio.AsyncClient(reconnection=False)
    messages: list = []

    @client.event
    async def connect_error(data):
        messages.append(data)

    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, auth=auth, transports=[transport], wait_timeout=10)
    return messages[0] if messages else None


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_valid_token_connects_and_joins_user_room(connect, make_patient, transport, db):
    """An event published to a user's room (from another process, through Redis) reaches only their sockets."""
    patient = await make_patient()
    other = await make_patient()
    client = await connect(patient.access_token, transport)
    bystander = await connect(other.access_token, transport)
    assert client.sio.transport() == transport
    await publish_to_users("test:ping", {"n": 1}, [patient.id])
    assert await client.wait_for("test:ping") == {"n": 1}
    await publish_to_users("test:ping", {"n": 2}, [other.id])
    assert await bystander.wait_for("test:ping") == {"n": 2}
    assert client.received("test:ping") == [{"n": 1}]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("case", ["missing", "garbage", "expired", "refresh_token", "not_a_dict"])
async def test_bad_tokens_are_refused_with_unauthorized(web, make_patient, transport, case):
    patient = await make_patient()
    auth = {
        "missing": {},
        "garbage": {"token": "garbage"},
        "expired": {"token": jwt.encode({"sub": patient.id, "role": "patient", "typ": "access", "iss": "engage", "exp": int(time.time()) - 1}, SECRET_KEY)},
        "refresh_token": {"token": patient.refresh_token},
        "not_a_dict": None,
    }[case]
    message = await refused_message(web.url, auth, transport)
    assert message is not None
    text = message.get("message") if isinstance(message, dict) else message
    assert text == "unauthorized"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_deactivated_accounts_unexpired_token_is_refused(api, admin, web, make_patient, transport):
    """Connect reads no user: deactivation ends the account's sessions, and that refuses its tokens."""
    patient = await make_patient()
    resp = await api.post(f"/api/admin/users/{patient.id}/deactivate", {"reason": "test"}, token=admin.access_token)
    assert resp.status == 200, resp.body
    message = await refused_message(web.url, {"token": patient.access_token}, transport)
    assert (message.get("message") if isinstance(message, dict) else message) == "unauthorized"


async def test_a_token_with_the_assistants_role_is_refused(web, make_patient):
    """The assistant's account never signs in, so no socket may act as it, even with a signed token."""
    patient = await make_patient()
    now = int(time.time())
    claims = jwt.decode(patient.access_token, SECRET_KEY, algorithms=["HS256"], issuer="engage")
    token = jwt.encode({**claims, "sub": ASSISTANT_USER_ID, "role": "assistant", "iat": now, "exp": now + 60}, SECRET_KEY)
    message = await refused_message(web.url, {"token": token}, "websocket")
    assert (message.get("message") if isinstance(message, dict) else message) == "unauthorized"
