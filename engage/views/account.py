"""Accounts (issue 19): email verification, password reset and change, and the admins' user management."""

from __future__ import annotations

from quart import Blueprint
from quart import current_app
from quart import request

from engage.actions.accounts import check_password_forgot
from engage.actions.accounts import check_resend_email_verification
from engage.actions.accounts import do_change_password
from engage.actions.accounts import do_deactivate_user
from engage.actions.accounts import do_reactivate_user
from engage.actions.accounts import do_reset_password
from engage.actions.accounts import do_send_password_reset
from engage.actions.accounts import do_verify_email_code
from engage.actions.accounts import do_verify_email_token
from engage.actions.accounts import list_users
from engage.actions.auth import do_issue_session
from engage.actions.data_rights import do_request_deletion
from engage.actions.data_rights import do_update_profile
from engage.actions.data_rights import export_user_data
from engage.actions.mfa import do_begin_enrolment_at_sign_in
from engage.actions.mfa import do_begin_totp_enrolment
from engage.actions.mfa import do_confirm_totp
from engage.actions.mfa import do_disable_totp
from engage.actions.mfa import do_pass_mfa
from engage.actions.otp import check_code_request
from engage.actions.otp import destination_of
from engage.actions.otp import do_send_sign_in_code
from engage.actions.otp import do_sign_in_with_code
from engage.actions.otp import do_start_phone_verification
from engage.actions.otp import do_verify_phone
from engage.config import get_settings
from engage.errors import ApiError
from engage.lib.users import access_user
from engage.lib.users import user_out
from engage.views.http import authenticated_user
from engage.views.http import current_session_id
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.accounts import AdminUserListQuery
from schemas.accounts import CodeRequest
from schemas.accounts import DeactivateRequest
from schemas.accounts import DeleteAccountRequest
from schemas.accounts import EmailVerifyRequest
from schemas.accounts import MfaCodeRequest
from schemas.accounts import MfaRequest
from schemas.accounts import MfaTokenRequest
from schemas.accounts import OtpStartRequest
from schemas.accounts import OtpVerifyRequest
from schemas.accounts import PasswordChangeRequest
from schemas.accounts import PasswordForgotRequest
from schemas.accounts import PasswordResetRequest
from schemas.accounts import PhoneStartRequest
from schemas.accounts import ProfilePatchRequest

blueprint = Blueprint("account", __name__)


@blueprint.post("/api/auth/email/verify")
async def verify_email():
    body = await read_json(EmailVerifyRequest)
    if body.token is not None:
        user = await do_verify_email_token(body.token)
    else:
        # A bare code names no account: it needs the signed-in user it was sent to.
        assert body.code is not None
        user = await do_verify_email_code(get_settings(), await authenticated_user(), body.code)
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
    user = await do_change_password(current_user(), current_session_id(), body.current_password, body.password)
    return {"user": user_out(user)}, 200


@blueprint.post("/api/auth/otp/start")
async def start_sign_in_code():
    body = await read_json(OtpStartRequest)
    settings = get_settings()
    channel, destination = destination_of(body.email, body.phone)
    await check_code_request(settings, destination, request.remote_addr, "sign_in")
    # Looked up and sent after the answer: known and unknown destinations answer alike.
    current_app.add_background_task(do_send_sign_in_code, settings, channel, destination)
    return {"accepted": True}, 202


@blueprint.post("/api/auth/otp/verify")
async def sign_in_with_code():
    body = await read_json(OtpVerifyRequest)
    channel, destination = destination_of(body.email, body.phone)
    return await do_sign_in_with_code(get_settings(), channel, destination, body.code), 200


@blueprint.post("/api/me/phone")
async def start_phone_verification():
    body = await read_json(PhoneStartRequest)
    await do_start_phone_verification(get_settings(), current_user(), body.phone, request.remote_addr)
    return {"accepted": True}, 202


@blueprint.post("/api/me/phone/verify")
async def verify_phone():
    body = await read_json(CodeRequest)
    return {"user": user_out(await do_verify_phone(get_settings(), current_user(), body.code))}, 200


@blueprint.post("/api/me/mfa/totp")
async def begin_totp():
    return await do_begin_totp_enrolment(current_user()), 200


@blueprint.post("/api/me/mfa/totp/confirm")
async def confirm_totp():
    body = await read_json(CodeRequest)
    codes = await do_confirm_totp(get_settings(), current_user(), body.code)
    return {"recovery_codes": codes, "user": user_out(await access_user(str(current_user().id)))}, 200


@blueprint.delete("/api/me/mfa/totp")
async def disable_totp():
    body = await read_json(MfaCodeRequest)
    return {"user": user_out(await do_disable_totp(get_settings(), current_user(), body.code))}, 200


@blueprint.post("/api/auth/mfa/totp")
async def begin_totp_at_sign_in():
    body = await read_json(MfaTokenRequest)
    return await do_begin_enrolment_at_sign_in(body.mfa_token), 200


@blueprint.post("/api/auth/mfa")
async def second_factor():
    body = await read_json(MfaRequest)
    settings = get_settings()
    user, recovery_codes = await do_pass_mfa(settings, body.mfa_token, body.code)
    return {**await do_issue_session(settings, user), "recovery_codes": recovery_codes}, 200


@blueprint.patch("/api/me")
async def patch_me():
    body = await read_json(ProfilePatchRequest)
    fields = body.model_dump(exclude_unset=True)
    null = next((name for name, value in fields.items() if value is None), None)
    if null:
        raise ApiError(422, "validation_error", f"{null}: may be left out but not null.", field=null)
    return {"user": user_out(await do_update_profile(current_user(), fields))}, 200


@blueprint.get("/api/me/export")
async def export_me():
    # An attachment: the browser saves it rather than showing it.
    body = await export_user_data(current_user())
    return body, 200, {"Content-Disposition": 'attachment; filename="engage-export.json"', "Cache-Control": "no-store"}


@blueprint.post("/api/me/delete")
async def delete_me():
    body = await read_json(DeleteAccountRequest)
    return {"user": user_out(await do_request_deletion(get_settings(), current_user(), body.password))}, 200


@blueprint.get("/api/admin/users")
async def admin_users():
    query = read_query(AdminUserListQuery)
    users, next_cursor = await list_users(query.q, query.role, query.status, query.cursor, query.limit)
    return {"users": [user_out(u) for u in users], "next_cursor": next_cursor}, 200


@blueprint.post("/api/admin/users/<user_id>/deactivate")
async def deactivate_user(user_id: str):
    body = await read_json(DeactivateRequest) if await request.get_data() else DeactivateRequest()
    user = await do_deactivate_user(user_id, body.reason)
    return {"user": user_out(user)}, 200


@blueprint.post("/api/admin/users/<user_id>/reactivate")
async def reactivate_user(user_id: str):
    return {"user": user_out(await do_reactivate_user(user_id))}, 200
