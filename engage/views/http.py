"""What every view shares: reading JSON bodies and query args, and the current user, authorized by engage.policy."""

from __future__ import annotations

import logging
from typing import TypeVar

from pydantic import BaseModel
from quart import current_app
from quart import g
from quart import request

from engage.actions.sessions import access_session_user
from engage.errors import ApiError
from engage.errors import forbidden
from engage.errors import unauthorized
from engage.lib.users import check_may_act
from engage.lib.validation import parse_json_bytes
from engage.lib.validation import parse_model
from engage.models.user import User
from engage.policy import NoPolicy
from engage.policy import route_rule

log = logging.getLogger(__name__)

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


def current_session_id() -> str | None:
    """The session (refresh-token family) of the request's access token."""
    return g.get("session_id")


async def authenticated_user() -> User:
    """The user of the request's Bearer access token: 401 without a valid one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("Send an access token as 'Authorization: Bearer <token>'.")
    # 401 invalid_token for a bad or expired token, or one whose session ended (logout).
    user, claims = await access_session_user(token.strip())
    check_may_act(user)
    g.session_id = claims.family_id
    return user


async def authorize_request() -> None:
    """Before every view: the route's rule from engage.policy decides whether a user is needed, and which."""
    rule = request.url_rule
    if rule is None or request.method == "OPTIONS":
        return  # Quart answers unknown paths (404) and CORS preflights by itself
    try:
        spec = route_rule(request.method, rule.rule)
    except NoPolicy:
        log.error("route %s %s has no access rule in engage.policy; refused", request.method, rule.rule)
        raise ApiError(403, "no_policy", "This route declares no access rule.") from None
    if spec.roles is None:
        return
    user = await authenticated_user()
    if user.role.value not in spec.roles:
        raise forbidden()
    g.user = user
