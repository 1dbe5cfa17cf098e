"""Advice over HTTP: ask for it (a job writes it), list it."""

from __future__ import annotations

from quart import Blueprint
from quart import request

from engage.actions.advice import check_list_advice
from engage.actions.advice import check_request_advice
from engage.lib.validation import parse_json_bytes
from engage.lib.validation import parse_model
from engage.views.http import current_user
from engage.views.http import read_query
from schemas.vitals import AdviceQuery
from schemas.vitals import AdviceRequest

blueprint = Blueprint("advice", __name__, url_prefix="/api/advice")


@blueprint.post("")
async def request_advice():
    raw = await request.get_data(cache=True, as_text=False)
    body = parse_model(AdviceRequest, parse_json_bytes(raw) if raw else {})
    user = current_user()
    advice, created = await check_request_advice(str(user.id), user.role.value, body.patient_id)
    return {"advice": advice.model_dump(mode="json")}, 202 if created else 200


@blueprint.get("")
async def list_advice():
    query = read_query(AdviceQuery)
    user = current_user()
    rows = await check_list_advice(str(user.id), user.role.value, query.patient_id, query.limit)
    return {"advice": [a.model_dump(mode="json") for a in rows]}
