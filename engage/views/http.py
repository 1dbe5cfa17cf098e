"""What every view shares: reading JSON bodies and query args, and the current user."""

from __future__ import annotations

import functools
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any
from typing import TypeVar

from pydantic import BaseModel
from quart import current_app
from quart import g
from quart import request

from engage.config import get_settings
from engage.errors import ApiError
from engage.errors import forbidden
from engage.errors import unauthorized
from engage.lib.tokens import InvalidToken
from engage.lib.tokens import decode_access_token
from engage.lib.users import access_user
from engage.lib.validation import parse_json_bytes
from engage.lib.validation import parse_model
from engage.models.user import User

M = TypeVar("M", bound=BaseModel)


async def read_json(model: type[M]) -> M:
    """The request body as a validated model: 413 when too big, 400 when not JSON, 422 when invalid."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
    raw = await request.get_data(cache=True, as_text=False)
    if not raw:
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return parse_model(model, parse_json_bytes(raw))


def read_query(model: type[M]) -> M:
    """Query arguments as a validated model (empty values count as absent)."""
    args = {key: value for key, value in request.args.items() if value != ""}
    return parse_model(model, args)


def current_user() -> User:
    return g.user


def require_user(*roles: str) -> Callable:
    """Require a valid Bearer access token (and one of these roles, if given)."""

    def decorate(view: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(view)
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise unauthorized("Send an access token as 'Authorization: Bearer <token>'.")
            try:
                claims = decode_access_token(get_settings().secret_key or "", token.strip())
                user = await access_user(claims.user_id)
            except (InvalidToken, ApiError):
                raise ApiError(401, "invalid_token", "The access token is invalid or expired.") from None
            if roles and user.role.value not in roles:
                raise forbidden()
            g.user = user
            return await view(*args, **kwargs)

        return wrapped

    return decorate
