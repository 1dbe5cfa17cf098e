"""Registration, login, refresh and logout."""

from __future__ import annotations

from quart import Blueprint
from quart import request

from engage.actions.accounts import check_registration_rate
from engage.actions.accounts import do_start_email_verification
from engage.actions.auth import do_login
from engage.actions.auth import do_logout
from engage.actions.auth import do_refresh
from engage.actions.users import do_register_user
from engage.config import get_settings
from engage.lib.users import user_out
from engage.views.http import read_json
from schemas.users import LoginRequest
from schemas.users import RefreshRequest
from schemas.users import RegisterRequest

blueprint = Blueprint("auth", __name__, url_prefix="/api/auth")


@blueprint.post("/register")
async def register():
    body = await read_json(RegisterRequest)
    settings = get_settings()
    await check_registration_rate(settings, request.remote_addr)
    user = await do_register_user(body)
    await do_start_email_verification(settings, user)
    return {"user": user_out(user)}, 201


@blueprint.post("/login")
async def login():
    body = await read_json(LoginRequest)
    # The peer address: uvicorn puts X-Forwarded-For's client here only for a proxy listed in
    # FORWARDED_ALLOW_IPS, so a client cannot pick its own address to dodge the limit.
    return await do_login(get_settings(), body.email, body.password, request.remote_addr), 200


@blueprint.post("/refresh")
async def refresh():
    body = await read_json(RefreshRequest)
    return await do_refresh(get_settings(), body.refresh_token), 200


@blueprint.post("/logout")
async def logout():
    body = await read_json(RefreshRequest)
    await do_logout(get_settings(), body.refresh_token)
    return {"ok": True}, 200
