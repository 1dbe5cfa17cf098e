"""Socket.IO: the server, authentication on connect, and the handler registry.

Each capability module defines register(sio) and is listed in SOCKET_MODULES.
"""

from __future__ import annotations

import importlib

import socketio
from engineio.payload import Payload

from engage import extensions
from engage.config import Settings
from engage.lib import socket_json

SOCKET_MODULES = [
    "engage.sockets.connection",
    "engage.sockets.chat",
    "engage.sockets.booking",
    "engage.sockets.vitals",
]


def build_socketio_server(settings: Settings) -> socketio.AsyncServer:
    # python-engineio keeps this limit on the class only; a web process serves one server.
    Payload.max_decode_packets = settings.polling_max_packets
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=extensions.socketio_manager(settings),
        json=socket_json,
        cors_allowed_origins=settings.cors_origin_list or None,
        ping_interval=settings.ping_interval,
        ping_timeout=settings.ping_timeout,
        max_http_buffer_size=settings.max_body_bytes,
        logger=False,
        engineio_logger=False,
    )
    for module_name in SOCKET_MODULES:
        importlib.import_module(module_name).register(sio)
    return sio
