"""Engine.io garbage from a client: one log line each, no traceback, and the server keeps serving."""

from __future__ import annotations

import json
import logging

import aiohttp
import pytest
import socketio

from engage.lib.protocol_logging import MalformedPacketFilter
from engage.sockets.handlers import socket_user
from tests.servers import EngageProcess

POLLING = "/socket.io/?EIO=4&transport=polling"
WEBSOCKET = "/socket.io/?EIO=4&transport=websocket"


class LogReader:
    """What a web process wrote to its log since the reader was made."""

    def __init__(self, proc: EngageProcess) -> None:
        self.proc = proc
        self.start = proc.log_path.stat().st_size

    def new_text(self) -> str:
        with open(self.proc.log_path, "rb") as log:
            log.seek(self.start)
            return log.read().decode(errors="replace")

    def new_lines(self) -> list[str]:
        return [line for line in self.new_text().splitlines() if line.strip()]


async def open_polling_session(http: aiohttp.ClientSession, base: str) -> str:
    """An engine.io session over polling, never connected to a Socket.IO namespace."""
    async with http.get(base + POLLING) as resp:
        assert resp.status == 200
        text = await resp.text()
    assert text.startswith("0"), text
    return json.loads(text[1:])["sid"]


async def assert_still_serving(http: aiohttp.ClientSession, base: str) -> None:
    async with http.get(base + "/healthz") as resp:
        assert resp.status == 200
    await open_polling_session(http, base)


def assert_one_line_without_traceback(reader: LogReader) -> None:
    text = reader.new_text()
    assert "Traceback" not in text, text
    assert len(reader.new_lines()) <= 1, text


@pytest.mark.parametrize(
    "body",
    [
        "zzz",  # not an engine.io packet type
        "42" + "[" * 100_000,  # a Socket.IO event that nests far too deep
        "42" + "[" * 40 + "]" * 40,  # nesting past our bound, well within the decoder's
        "42" + json.dumps(["chat:send", {"n": 1e300}]).replace("1e+300", "1" * 5000),  # a number too large
        "49",  # an unknown Socket.IO packet type
        "\x1e\x1e",  # empty packets
    ],
    ids=["bad-type", "deep-nesting", "nesting-past-bound", "huge-number", "bad-socketio-type", "empty-packets"],
)
async def test_garbage_polling_post_logs_one_line(web, http_session, body):
    sid = await open_polling_session(http_session, web.url)
    reader = LogReader(web)
    async with http_session.post(f"{web.url}{POLLING}&sid={sid}", data=body.encode()) as resp:
        assert resp.status in (200, 400)
    # The polling POST is answered after the server has logged whatever it logs about it.
    assert_one_line_without_traceback(reader)
    await assert_still_serving(http_session, web.url)


async def test_post_to_a_bogus_session_logs_no_traceback(web, http_session):
    reader = LogReader(web)
    async with http_session.post(f"{web.url}{POLLING}&sid=bogus", data=b"zzz") as resp:
        assert resp.status == 400
    assert_one_line_without_traceback(reader)
    await assert_still_serving(http_session, web.url)


@pytest.mark.parametrize(
    "message",
    ["zzz", "42" + "[" * 100_000, "42" + "{" * 50, "49", b"\xff\xfe"],
    ids=["bad-type", "deep-nesting", "deep-object", "bad-socketio-type", "binary-garbage"],
)
async def test_garbage_on_a_websocket_logs_one_line(web, http_session, message):
    reader = LogReader(web)
    async with http_session.ws_connect(web.url + WEBSOCKET) as ws:
        opening = await ws.receive_str(timeout=10)
        assert opening.startswith("0"), opening
        if isinstance(message, bytes):
            await ws.send_bytes(message)
        else:
            await ws.send_str(message)
        # Packets on one websocket are handled in order: once the Socket.IO connect that
        # follows the garbage is answered (refused, no token), the garbage has been dealt with.
        await ws.send_str("40")
        reply = await receive_non_ping(ws)
        assert reply is None or reply.startswith("44"), reply
    assert_one_line_without_traceback(reader)
    await assert_still_serving(http_session, web.url)


async def receive_non_ping(ws: aiohttp.ClientWebSocketResponse) -> str | None:
    """The next packet that is not a ping, or None when the server closed the websocket."""
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type != aiohttp.WSMsgType.TEXT:
            return None
        if msg.data != "2":
            return msg.data


def logged_with_filter(exc: BaseException) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__)
    record = logging.LogRecord("engineio.server", logging.ERROR, __file__, 1, "message handler error", None, exc_info)
    MalformedPacketFilter().filter(record)
    return record


async def test_only_the_libraries_own_refusals_lose_their_traceback():
    """A failure that passed through our socket handlers is a bug of ours: its traceback stays."""
    try:
        socketio.packet.Packet(encoded_packet="2zzz")  # python-socketio refusing a client's packet
    except ValueError as exc:
        garbage = logged_with_filter(exc)
    assert garbage.exc_info is None and "\n" not in garbage.getMessage()
    assert garbage.getMessage().startswith("malformed packet from a client: message handler error: JSONDecodeError")

    try:
        await socket_user(socketio.AsyncServer(async_mode="asgi"), "no-such-sid")  # one of our handlers' helpers failing
    except KeyError as exc:
        ours = logged_with_filter(exc)
    assert ours.exc_info is not None and ours.getMessage() == "message handler error"
