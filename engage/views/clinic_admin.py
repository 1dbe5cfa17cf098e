"""Clinic onboarding (applications, decided by platform admins) and clinic staff (issue 19)."""

from __future__ import annotations

from quart import Blueprint
from quart import Response
from quart import request
from werkzeug.exceptions import RequestEntityTooLarge

from engage.actions.clinic_staff import application_out
from engage.actions.clinic_staff import check_set_brand_color
from engage.actions.clinic_staff import check_set_logo
from engage.actions.clinic_staff import check_invite_staff
from engage.actions.clinic_staff import check_list_staff
from engage.actions.clinic_staff import check_remove_staff
from engage.actions.clinic_staff import do_apply_for_clinic
from engage.actions.clinic_staff import do_approve_application
from engage.actions.clinic_staff import do_reject_application
from engage.actions.clinic_staff import list_applications
from engage.actions.clinic_staff import read_branding
from engage.actions.clinic_staff import read_logo
from engage.config import get_settings
from engage.errors import ApiError
from engage.lib.branding import LOGO_MAX_BYTES
from engage.lib.users import user_out
from engage.views.http import current_user
from engage.views.http import read_json
from engage.views.http import read_query
from schemas.accounts import BrandingRequest
from schemas.accounts import ClinicApplicationQuery
from schemas.accounts import ClinicApplicationRequest
from schemas.accounts import RejectRequest
from schemas.accounts import StaffInviteRequest

blueprint = Blueprint("clinic_admin", __name__)


@blueprint.post("/api/clinic-applications")
async def apply():
    body = await read_json(ClinicApplicationRequest)
    application = await do_apply_for_clinic(get_settings(), body, request.remote_addr)
    return {"application": application_out(application)}, 201


@blueprint.get("/api/admin/clinic-applications")
async def applications():
    query = read_query(ClinicApplicationQuery)
    return {"applications": [application_out(a) for a in await list_applications(query.status)]}, 200


@blueprint.post("/api/admin/clinic-applications/<application_id>/approve")
async def approve_application(application_id: str):
    return {"application": application_out(await do_approve_application(current_user(), application_id))}, 200


@blueprint.post("/api/admin/clinic-applications/<application_id>/reject")
async def reject_application(application_id: str):
    body = await read_json(RejectRequest)
    return {"application": application_out(await do_reject_application(current_user(), application_id, body.reason))}, 200


@blueprint.post("/api/clinics/<clinic_id>/staff")
async def invite_staff(clinic_id: str):
    body = await read_json(StaffInviteRequest)
    member = await check_invite_staff(get_settings(), current_user(), clinic_id, str(body.email), body.name, body.role)
    return {"user": user_out(member)}, 201


@blueprint.get("/api/clinics/<clinic_id>/staff")
async def staff(clinic_id: str):
    return {"staff": [user_out(u) for u in await check_list_staff(current_user(), clinic_id)]}, 200


@blueprint.delete("/api/clinics/<clinic_id>/staff/<user_id>")
async def remove_staff(clinic_id: str, user_id: str):
    return {"user": user_out(await check_remove_staff(current_user(), clinic_id, user_id))}, 200


@blueprint.get("/api/clinics/<clinic_id>/branding")
async def branding(clinic_id: str):
    return {"branding": await read_branding(clinic_id)}, 200


@blueprint.put("/api/clinics/<clinic_id>/branding")
async def put_branding(clinic_id: str):
    body = await read_json(BrandingRequest)
    return {"branding": await check_set_brand_color(current_user(), clinic_id, body.brand_color)}, 200


def _logo_too_large() -> ApiError:
    return ApiError(413, "logo_too_large", "A logo may be at most 512 KB.", field="file")


@blueprint.post("/api/clinics/<clinic_id>/logo")
async def upload_logo(clinic_id: str):
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise ApiError(415, "multipart_required", "Send the logo as multipart/form-data, in a part named 'file'.", field="file")
    try:
        files = await request.files
    except RequestEntityTooLarge:
        raise _logo_too_large() from None
    upload = files.get("file")
    if upload is None:
        raise ApiError(422, "validation_error", "file: a part named 'file' is required.", field="file")
    data = upload.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        raise _logo_too_large()
    return {"branding": await check_set_logo(current_user(), clinic_id, data)}, 200


@blueprint.get("/api/clinics/<clinic_id>/logo")
async def logo(clinic_id: str):
    data, media_type = await read_logo(clinic_id)
    # Served as an image only: no script runs even if a browser opens the SVG directly.
    headers = {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=86400",
    }
    return Response(data, status=200, mimetype=media_type, headers=headers)
