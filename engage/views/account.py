"""Accounts (issue 19): email verification, password reset and change, and the admins' user management."""

from __future__ import annotations

from quart import Blueprint, current_app, request

from engage.actions.accounts import (
    check_password_forgot,
    check_resend_email_verification,
    do_change_password,
    do_deactivate_user,
    do_reactivate_user,
    do_reset_password,
    do_send_password_reset,
    do_verify_email_code,
    do_verify_email_token,
    list_users,
)
from engage.config import get_settings
from engage.lib.users import user_out
from engage.views.http import (
    authenticated_user,
    current_session_id,
    current_user,
    read_json,
    read_query,
)
from schemas.accounts import (
    AdminUserListQuery,
    DeactivateRequest,
    EmailVerifyRequest,
    PasswordChangeRequest,
    PasswordForgotRequest,
    PasswordResetRequest,
)

blueprint = Blueprint("account", __name__)


@blueprint.post("/api/auth/email/verify")
async def verify_email():
    body = await read_json(EmailVerifyRequest)
    if body.token is not None:
        user = await do_verify_email_token(body.token)
    else:
        # A bare code names no account: it needs the signed-in user it was sent to.
        assert body.code is not None
        user = await do_verify_email_code(
            get_settings(), await authenticated_user(), body.code
        )
    return {"user": user_out(user)}, 200


@blueprint.post("/api/auth/email/resend")
async def resend_email_verification():
    await check_resend_email_verification(get_settings(), current_user())
    return {"accepted": True}, 202


@blueprint.post("/api/auth/password/forgot")
async def forgot_password():
    body = await read_json(PasswordForgotRequest)
    settings = get_settings()
    await check_password_forgot(settings, request.remote_addr)
    # Looked up and sent after the answer: known and unknown emails get the same answer, as fast.
    current_app.add_background_task(do_send_password_reset, settings, str(body.email))
    return {"accepted": True}, 202


@blueprint.post("/api/auth/password/reset")
async def reset_password():
    body = await read_json(PasswordResetRequest)
    user = await do_reset_password(get_settings(), body.token, body.password)
    return {"user": user_out(user)}, 200


@blueprint.post("/api/me/password")
async def change_password():
    body = await read_json(PasswordChangeRequest)
    user = await do_change_password(
        current_user(), current_session_id(), body.current_password, body.password
    )
    return {"user": user_out(user)}, 200


@blueprint.get("/api/admin/users")
async def admin_users():
    query = read_query(AdminUserListQuery)
    users, next_cursor = await list_users(
        query.q, query.role, query.status, query.cursor, query.limit
    )
    return {"users": [user_out(u) for u in users], "next_cursor": next_cursor}, 200


@blueprint.post("/api/admin/users/<user_id>/deactivate")
async def deactivate_user(user_id: str):
    body = (
        await read_json(DeactivateRequest)
        if await request.get_data()
        else DeactivateRequest()
    )
    user = await do_deactivate_user(user_id, body.reason)
    return {"user": user_out(user)}, 200


@blueprint.post("/api/admin/users/<user_id>/reactivate")
async def reactivate_user(user_id: str):
    return {"user": user_out(await do_reactivate_user(user_id))}, 200
