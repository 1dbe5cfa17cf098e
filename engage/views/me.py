"""The current user."""

from __future__ import annotations

from quart import Blueprint

from engage.lib.users import user_out
from engage.views.http import current_user

blueprint = Blueprint("me", __name__, url_prefix="/api/me")


@blueprint.get("")
async def me():
    return {"user": user_out(current_user())}
