"""The web server's transport settings: websockets without per-message compression (it costs CPU
and memory per socket; see engage/web.py), on uvicorn's websockets-sansio implementation."""

from __future__ import annotations

from websockets.asyncio.client import connect

SOCKET_IO_WEBSOCKET = "/socket.io/?EIO=4&transport=websocket"


async def test_websocket_compression_is_declined_when_a_client_offers_it(web):
    async with connect("ws://" + web.url.removeprefix("http://") + SOCKET_IO_WEBSOCKET, compression="deflate") as ws:
        assert ws.request.headers.get("Sec-WebSocket-Extensions", "").startswith("permessage-deflate")  # offered
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None  # and not taken
        assert (await ws.recv()).startswith("0{")  # engine.io's open packet: the socket works


def test_the_web_process_starts_without_a_deprecation_warning(web):
    assert "deprecat" not in web.log_path.read_text(errors="replace").lower()
