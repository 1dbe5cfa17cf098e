"""Log lines for malformed Socket.IO traffic: one line per bad packet, no traceback.

python-engineio and python-socketio log a client's undecodable packet with logger.exception
(a traceback of library frames that says nothing about our code), and by default each adds its
own stream handler on top of the root one, so every bad request printed two tracebacks. Any
client can send such packets, so a log full of them would also hide real failures.
"""

from __future__ import annotations

import logging
import traceback

# Loggers that report a client's bad packets: the two libraries', and uvicorn's for a
# websocket handler that the garbage made raise.
PROTOCOL_LOGGERS = ("engineio.server", "socketio.server", "uvicorn.error")
SOCKET_LIBRARIES = ("engineio", "socketio")
OUR_SOCKET_HANDLERS = "engage.sockets"  # connect/disconnect and every event handler live here
MAX_DETAIL_CHARS = 200  # the exception text can quote the client's bytes


def _package(module_name: str) -> str:
    return module_name.partition(".")[0]


def refused_by_the_socket_libraries(exc: BaseException) -> bool:
    """True when the socket libraries raised this while decoding a packet, before our handlers ran.

    An exception that passed through our handlers is a bug of ours and keeps its traceback.
    """
    modules = [frame.f_globals.get("__name__", "") for frame, _ in traceback.walk_tb(exc.__traceback__)]
    if any(name == OUR_SOCKET_HANDLERS or name.startswith(OUR_SOCKET_HANDLERS + ".") for name in modules):
        return False
    return any(_package(name) in SOCKET_LIBRARIES for name in modules)


class MalformedPacketFilter(logging.Filter):
    """Turns a record about a client's malformed packet into one line without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and refused_by_the_socket_libraries(exc):
            detail = str(exc)
            if len(detail) > MAX_DETAIL_CHARS:
                detail = detail[:MAX_DETAIL_CHARS] + "..."
            record.msg = f"malformed packet from a client: {record.getMessage().strip()}: {type(exc).__name__}: {detail}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def log_malformed_packets_briefly() -> None:
    """Install the filter, and keep the libraries from adding their own duplicate stream handlers.

    Call before the Socket.IO server is built: python-engineio and python-socketio add a
    handler to their logger only while its level is unset. ERROR is the level they would set.
    """
    for name in PROTOCOL_LOGGERS:
        logger = logging.getLogger(name)
        if name != "uvicorn.error" and logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)
        if not any(isinstance(existing, MalformedPacketFilter) for existing in logger.filters):
            logger.addFilter(MalformedPacketFilter())
