"""API errors: one exception type that every transport turns into the same JSON shape."""

from __future__ import annotations

from typing import Any

import redis.exceptions
from pymongo.errors import ConnectionFailure


class ApiError(Exception):
    """An error a client should see: HTTP status, snake_case code, a sentence, maybe a field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        details: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.details = details
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def error_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body

    def to_json(self) -> dict[str, Any]:
        """The HTTP body: {"error": {...}} plus any top-level extras (e.g. alternatives)."""
        return {"error": self.error_body(), **self.extra}

    def to_ack(self) -> dict[str, Any]:
        """The Socket.IO ack for a failure."""
        return {"ok": False, "error": self.error_body(), **self.extra}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} was not found.")


def forbidden(message: str = "You are not allowed to do this.") -> ApiError:
    return ApiError(403, "forbidden", message)


def unauthorized(message: str = "Authentication is required.") -> ApiError:
    return ApiError(401, "unauthorized", message)


# How long a client is asked to wait when a server Engage needs is restarting (the embedded
# database restarts in about a second; the supervisor's first retry is after one).
OUTAGE_RETRY_SECONDS = 3


def unavailable_error(exc: BaseException) -> ApiError | None:
    """The client's error for an exception that means the database or Redis is not answering
    (a restart, a network cut), or None for any other exception. HTTP and socket acks share it."""
    if isinstance(exc, ConnectionFailure):  # ServerSelectionTimeoutError, AutoReconnect, NetworkTimeout
        return ApiError(
            503, "database_unavailable", "The database is not answering; try again in a few seconds.", retry_after=OUTAGE_RETRY_SECONDS
        )
    if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return ApiError(
            503, "service_unavailable", "A server Engage needs is restarting; try again in a few seconds.", retry_after=OUTAGE_RETRY_SECONDS
        )
    return None
