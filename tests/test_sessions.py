"""Sessions: a socket is bound to the session (refresh-token family) that opened it and to its
access token's expiry; ending a session ends its sockets on every web process; two refreshes
of one token at once both succeed."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
import socketio

from engage.actions.sessions import do_end_user_sessions
from engage.models.auth import RefreshTokenFamily
from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401
from tests.clients import Api
from tests.clients import RecordingClient
from tests.conftest import login
from tests.servers import SECRET_KEY
from tests.servers import engage_env
from tests.servers import start_engage
from tests.waiting import wait_until

SHORT_TTL = 5


def claims_of(token: str) -> dict:
    return jwt.decode(token, SECRET_KEY, algorithms=["HS256"], issuer="engage", options={"verify_exp": False})


async def disconnected(client: RecordingClient, timeout: float = 5) -> None:
    async def gone() -> bool:
        return not client.sio.connected

    await wait_until(gone, timeout)


async def refused(url: str, token: str) -> bool:
    client = socketio.AsyncClient(reconnection=False)
    try:
        await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        return True
    await client.disconnect()
    return False


async def rotated_long_ago(refresh_token: str) -> None:
    """Move the family's last rotation past the 10 s grace, as if it happened a while ago."""
    family = claims_of(refresh_token)["fam"]
    await RefreshTokenFamily.get_pymongo_collection().update_one({"family_id": family}, {"$inc": {"rotated_at": -60}})


@pytest.fixture(scope="module")
async def short_web(services, tmp_root):
    """A web process whose access tokens live 5 s."""
    proc = start_engage("web", engage_env(services["mongodb_url"], services["redis_url"], ENGAGE_ACCESS_TOKEN_TTL_SECONDS=str(SHORT_TTL)), tmp_root)
    yield proc
    proc.stop()


@pytest.fixture
async def short_api(http_session, short_web) -> Api:
    return Api(http_session, short_web.url)


async def test_the_access_token_names_its_session(make_patient):
    patient = await make_patient()
    assert claims_of(patient.access_token)["fam"] == claims_of(patient.refresh_token)["fam"]


async def test_logout_disconnects_the_sessions_sockets_on_every_process(api, connect, make_patient, web, web2, db):
    patient = await make_patient()
    other_session = await login(api, patient.email)
    here = await connect(patient.access_token, "websocket", url=web.url)
    there = await connect(patient.access_token, "polling", url=web2.url)
    other = await connect(other_session.access_token, "websocket", url=web2.url)

    assert (await api.post("/api/auth/logout", {"refresh_token": patient.refresh_token})).status == 200
    await disconnected(here)
    await disconnected(there)
    # The other login of the same person is another session and goes on.
    assert other.sio.connected
    assert (await other.call("chat:sync", {"conversation_id": "0" * 24, "after_seq": 0}))["error"]["code"] == "not_found"
    # The ended session's access token is refused everywhere, though it has not expired.
    me = await api.get("/api/me", token=patient.access_token)
    assert me.status == 401 and me.error_code == "invalid_token"
    assert (await api.get("/api/me", token=other_session.access_token)).status == 200
    assert await refused(web2.url, patient.access_token)


async def test_a_socket_connecting_after_logout_is_refused(api, make_patient, web):
    patient = await make_patient()
    await api.post("/api/auth/logout", {"refresh_token": patient.refresh_token})
    assert await refused(web.url, patient.access_token)


async def test_two_refreshes_of_one_token_at_once_both_stay_logged_in(api, make_patient, db):
    patient = await make_patient()
    first, second = await asyncio.gather(
        api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token}),
        api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token}),
    )
    assert first.status == second.status == 200, (first.body, second.body)
    assert first.body["refresh_token"] == second.body["refresh_token"]
    assert first.body["access_token"] == second.body["access_token"]
    assert (await api.get("/api/me", token=first.body["access_token"])).status == 200
    # The shared new pair goes on working.
    assert (await api.post("/api/auth/refresh", {"refresh_token": first.body["refresh_token"]})).status == 200


async def test_a_token_presented_again_within_the_grace_gets_the_same_pair(api, make_patient):
    patient = await make_patient()
    first = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    again = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    assert again.status == 200
    assert again.body["refresh_token"] == first.body["refresh_token"]


async def test_reuse_after_the_grace_revokes_the_family_and_disconnects_it(api, connect, make_patient, web2, db):
    patient = await make_patient()
    rotated = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    socket = await connect(rotated.body["access_token"], "websocket", url=web2.url)
    await rotated_long_ago(patient.refresh_token)

    reused = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    assert reused.status == 401 and reused.error_code == "refresh_token_reused"
    await disconnected(socket)
    assert (await api.get("/api/me", token=rotated.body["access_token"])).status == 401
    assert (await api.post("/api/auth/refresh", {"refresh_token": rotated.body["refresh_token"]})).status == 401


async def test_an_older_token_is_reuse_even_within_the_grace(api, make_patient):
    """Only the token rotated last is forgiven; one from two rotations ago is a replay."""
    patient = await make_patient()
    first = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    await api.post("/api/auth/refresh", {"refresh_token": first.body["refresh_token"]})
    reused = await api.post("/api/auth/refresh", {"refresh_token": patient.refresh_token})
    assert reused.status == 401 and reused.error_code == "refresh_token_reused"


async def test_the_server_warns_before_expiry_and_a_refresh_keeps_the_socket(short_api, short_web, connect, make_patient):
    account = await login(short_api, (await make_patient()).email)
    expires_at = claims_of(account.access_token)["exp"]
    socket = await connect(account.access_token, "websocket", url=short_web.url)

    warning = await socket.wait_for("auth:expiring", timeout=SHORT_TTL + 2)
    assert warning == {"expires_at": expires_at}
    fresh = await short_api.post("/api/auth/refresh", {"refresh_token": account.refresh_token})
    ack = await socket.call("auth:refresh", {"token": fresh.body["access_token"]})
    assert ack == {"ok": True, "expires_at": claims_of(fresh.body["access_token"])["exp"]}

    async def past_the_first_expiry() -> bool:
        return time.time() > expires_at + 0.5

    await wait_until(past_the_first_expiry, SHORT_TTL + 5)
    # Past its first token's expiry the socket still works (it would answer invalid_token).
    assert (await socket.call("chat:sync", {"conversation_id": "0" * 24, "after_seq": 0}))["error"]["code"] == "not_found"
    assert socket.sio.connected
    # Not refreshed again: the socket ends when the new token expires.
    await disconnected(socket, timeout=SHORT_TTL + 3)


async def test_a_socket_is_disconnected_when_its_token_expires(short_api, short_web, connect, make_patient):
    account = await login(short_api, (await make_patient()).email)
    socket = await connect(account.access_token, "polling", url=short_web.url)
    await socket.wait_for("auth:expiring", timeout=SHORT_TTL + 2)
    await disconnected(socket, timeout=SHORT_TTL + 3)
    assert time.time() >= claims_of(account.access_token)["exp"] - 1


async def test_every_socket_of_a_user_with_many_refreshes_in_the_same_minute(api, connect, make_patient):
    """The expiry warning reaches all of a user's sockets (tabs, devices) together; each refreshes."""
    account = await make_patient()
    sockets = [await connect(account.access_token, "websocket" if n % 4 else "polling") for n in range(24)]
    fresh = await api.post("/api/auth/refresh", {"refresh_token": account.refresh_token})
    assert fresh.status == 200, fresh.body
    acks = await asyncio.gather(*(socket.call("auth:refresh", {"token": fresh.body["access_token"]}) for socket in sockets))
    assert acks == [{"ok": True, "expires_at": claims_of(fresh.body["access_token"])["exp"]}] * len(sockets), acks


async def test_auth_refresh_accepts_only_a_token_of_the_same_session(api, short_api, short_web, connect, make_patient):
    patient = await make_patient()
    account = await login(short_api, patient.email)
    other_session = await login(short_api, patient.email)
    stranger = await make_patient()
    socket = await connect(account.access_token, "websocket", url=short_web.url)
    for token in (other_session.access_token, stranger.access_token, account.refresh_token, "garbage"):
        ack = await socket.call("auth:refresh", {"token": token})
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_token", (token, ack)
    for bad in (None, "x", {"token": 5}, {"token": "a", "extra": 1}):
        ack = await socket.call("auth:refresh", bad)
        assert ack["ok"] is False and ack["error"]["code"] == "validation_error", (bad, ack)
    # Nothing of that extended the socket: it ends at its own token's expiry.
    await disconnected(socket, timeout=SHORT_TTL + 3)


async def test_ending_every_session_of_a_user_disconnects_all_their_sockets(api, connect, make_patient, web, web2, db):
    """The one action that password changes and deactivation call (from any process)."""
    patient = await make_patient()
    second = await login(api, patient.email)
    bystander = await make_patient()
    sockets = [await connect(patient.access_token, url=web.url), await connect(second.access_token, url=web2.url)]
    untouched = await connect(bystander.access_token, url=web2.url)
    await do_end_user_sessions(patient.id, "test")
    for socket in sockets:
        await disconnected(socket)
    assert untouched.sio.connected
    for account in (patient, second):
        assert (await api.post("/api/auth/refresh", {"refresh_token": account.refresh_token})).status == 401


async def test_the_browser_app_keeps_its_socket_past_the_token_expiry(short_web, open_page, make_patient):  # noqa: F811
    """The patient app answers auth:expiring by itself: the same connection outlives two tokens."""
    patient = await make_patient()
    page = await open_page(base_url=short_web.url)
    await page.login("/", patient.email)
    await page.wait_socket()
    socket_id = await page.page.evaluate("window.engageLive.socket.id")
    until = time.time() + 2 * SHORT_TTL + 1

    async def two_tokens_later() -> bool:
        return time.time() > until

    await wait_until(two_tokens_later, 3 * SHORT_TTL)
    assert await page.page.evaluate("window.engageLive.connected")
    assert await page.page.evaluate("window.engageLive.socket.id") == socket_id
