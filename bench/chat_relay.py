"""A bare python-socketio relay: the baseline the chat benchmark compares Engage against.

Same serving stack as Engage (python-socketio ASGI under uvicorn, no websocket deflate) and
the same event names and ack shape, but no auth, no validation, no storage.

    python bench/chat_relay.py PORT [REDIS_URL]
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import socketio
from engineio.payload import Payload
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engage.config import Settings  # noqa: E402
from engage.lib.runtime import tune_garbage_collector  # noqa: E402


def build(redis_url: str | None) -> socketio.ASGIApp:
    Payload.max_decode_packets = 1000  # as Engage's web process (ENGAGE_POLLING_MAX_PACKETS)
    manager = socketio.AsyncRedisManager(redis_url, redis_options={"max_connections": 10000}) if redis_url else None
    # No gzip of polling responses, as Engage (engage/sockets/__init__.py): a transport setting
    # any deployment may choose, so the baseline gets it too.
    sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager, http_compression=False, logger=False, engineio_logger=False)
    seqs: dict[str, int] = {}

    @sio.event
    async def connect(sid, environ, auth):
        await sio.enter_room(sid, auth["room"])

    @sio.on("chat:send")
    async def chat_send(sid, data):
        room = data["conversation_id"]
        seqs[room] = seqs.get(room, 0) + 1
        message = {
            "id": uuid.uuid4().hex[:24], "conversation_id": room, "seq": seqs[room], "sender_id": data.get("sender_id", sid),
            "client_id": data["client_id"], "body": data["body"], "created_at": time.time(),
        }
        await sio.emit("chat:message", message, room=room)
        return {"ok": True, "message": message}

    return socketio.ASGIApp(sio)


if __name__ == "__main__":
    port = int(sys.argv[1])
    redis_url = sys.argv[2] if len(sys.argv) > 2 else None
    # The same runtime setting as Engage's web process (ENGAGE_GC_YOUNG_THRESHOLD's default),
    # so the baseline is the same stack as tuned as Engage. It changes little here: the relay's
    # heap is small.
    tune_garbage_collector(Settings.model_fields["gc_young_threshold"].default)
    uvicorn.run(build(redis_url), host="127.0.0.1", port=port, ws_per_message_deflate=False, log_level="warning", access_log=False,
                timeout_graceful_shutdown=1)
