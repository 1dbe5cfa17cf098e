"""The assistant over HTTP: classify one message, open the patient's assistant conversation, and
read or replace a clinic's FAQ. Who may call each route: engage/policy.py."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.assistant import (
    check_classify,
    check_open_assistant_conversation,
    do_put_clinic_faq,
    read_clinic_faq,
)
from engage.views.http import current_user, read_json
from schemas.assistant import ClassifyRequest, FaqPutRequest

blueprint = Blueprint("assistant", __name__, url_prefix="/api")


@blueprint.post("/assistant/classify")
async def classify():
    return await check_classify(current_user(), await read_json(ClassifyRequest))


@blueprint.post("/assistant/conversation")
async def assistant_conversation():
    conversation, created = await check_open_assistant_conversation(current_user())
    return {"conversation": conversation}, 201 if created else 200


@blueprint.get("/clinics/<clinic_id>/faq")
async def clinic_faq(clinic_id: str):
    return {"faq": await read_clinic_faq(clinic_id)}


@blueprint.put("/clinics/<clinic_id>/faq")
async def put_clinic_faq(clinic_id: str):
    return {"faq": await do_put_clinic_faq(current_user(), clinic_id, await read_json(FaqPutRequest))}
