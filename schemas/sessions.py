"""Socket events of a session: the server's expiry warning and the client's token refresh."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from pydantic import Field

from schemas.common import RequestModel


class AuthExpiringEvent(BaseModel):
    """The socket's access token expires at this time (epoch seconds): send auth:refresh before it."""

    expires_at: int


class AuthRefreshRequest(RequestModel):
    """A fresh access token of the same user and session (from POST /api/auth/refresh)."""

    token: str = Field(min_length=1, max_length=4096)


class AuthRefreshAck(BaseModel):
    ok: Literal[True]
    expires_at: int
