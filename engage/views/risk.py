"""Risk scores over HTTP: a patient's scores, and the patient's questionnaire."""

from __future__ import annotations

from quart import Blueprint

from engage.actions.risk import check_read_risk
from engage.actions.risk import check_save_risk_answers
from engage.views.http import current_user
from engage.views.http import read_json
from schemas.risk import RiskAnswersRequest

blueprint = Blueprint("risk", __name__, url_prefix="/api")


@blueprint.get("/patients/<patient_id>/risk")
async def patient_risk(patient_id: str):
    user = current_user()
    return (await check_read_risk(str(user.id), user.role.value, patient_id)).model_dump(mode="json")


@blueprint.put("/me/risk-answers")
async def save_risk_answers():
    user = current_user()
    saved = await check_save_risk_answers(str(user.id), user.role.value, await read_json(RiskAnswersRequest))
    return saved.model_dump(mode="json")
