"""Log lines: one JSON object per line (ENGAGE_LOG_FORMAT=json, the default) or plain text.

Every line written while a request or a socket event is handled carries its id (request_id or
socket_id), so one request's lines can be found together. A traceback travels inside its line
(the "exc" field), never as extra lines; client mistakes log no traceback at all (engage.web).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from datetime import UTC
from datetime import datetime
from typing import Any

# The request or socket being handled, for every line logged meanwhile.
log_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("engage_log_context", default=None)

# Fields of a record that a line carries when set (by `extra=` or the context above).
LINE_FIELDS = ("request_id", "socket_id", "method", "route", "path", "status", "duration_ms", "user_id")

# An X-Request-ID from a proxy is kept when it looks like an id, not when it could forge lines.
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def request_id_from(header: str | None) -> str:
    """The caller's request id if it is sane, else a new one."""
    if header and SANE_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Copies the current request's or socket's id onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (log_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in LINE_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = " ".join(f"{key}={getattr(record, key)}" for key in ("request_id", "socket_id") if getattr(record, key, None))
        return f"{text} [{ids}]" if ids else text


def configure_logging(level: str, log_format: str) -> None:
    """The root logger writes to stderr in the chosen format; every library logs through it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # a library's warning is a line like any other, not raw stderr
