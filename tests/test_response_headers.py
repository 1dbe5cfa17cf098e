"""Headers that keep health data private: the pages' CSP lets sockets reach only their own origin."""

from __future__ import annotations

import pytest

from tests.browser import browser  # noqa: F401
from tests.browser import open_page  # noqa: F401


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", ["/", "/console", "/admin"])
async def test_pages_connect_only_to_their_own_origin(http_session, web, path):
    """connect-src 'self' covers the same-origin websocket (CSP3); `ws: wss:` would allow any host."""
    async with http_session.get(web.url + path) as resp:
        assert resp.status == 200
        policy = directives(resp.headers["Content-Security-Policy"])
    assert policy["connect-src"] == ["'self'"]


async def test_the_browser_app_still_opens_its_websocket_under_the_policy(make_patient, open_page):  # noqa: F811
    """Chromium counts a websocket to the page's own host as 'self'; a blocked one would log a console error."""
    patient = await make_patient()
    page = await open_page()
    await page.login("/?transport=websocket", patient.email)
    await page.wait_socket()
    assert await page.transport() == "websocket"
    assert page.websockets and page.websockets[0].startswith(page.base_url.replace("http://", "ws://") + "/socket.io/")


async def test_socketio_polling_answers_are_never_cached(http_session, web):
    """Long-polling responses carry chat messages and vitals events: health data too."""
    async with http_session.get(web.url + "/socket.io/?EIO=4&transport=polling") as resp:
        assert resp.status == 200
        assert resp.headers.get("Cache-Control") == "no-store"
    async with http_session.get(web.url + "/socket.io/?EIO=4&transport=polling&sid=bogus") as resp:
        assert resp.status == 400
        assert resp.headers.get("Cache-Control") == "no-store"
