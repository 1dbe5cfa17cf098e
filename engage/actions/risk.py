"""Risk scores: read a patient's (audited for others) and save the patient's questionnaire answers."""

from __future__ import annotations

from dataclasses import asdict

from beanie import PydanticObjectId

from engage.actions.audit import record_health_data_access
from engage.lib.care import access_patient_data
from engage.lib.risk_explain import explanation
from engage.lib.risk_explain import questions
from engage.lib.risk_explain import what_lowers_it
from engage.lib.risk_inputs import gather_risk_inputs
from engage.lib.risk_scores import RiskScore
from engage.lib.risk_scores import all_scores
from engage.models.base import utcnow
from engage.models.risk import RiskAnswers
from engage.models.user import User
from schemas.risk import RiskAnswersEnvelope
from schemas.risk import RiskAnswersOut
from schemas.risk import RiskAnswersRequest
from schemas.risk import RiskOut
from schemas.risk import RiskScoreOut


def score_out(score: RiskScore) -> RiskScoreOut:
    return RiskScoreOut(**asdict(score), explanation=explanation(score), what_lowers_it=what_lowers_it(score))


async def patient_risk(patient: User) -> RiskOut:
    """Every score for the patient, computed now from the record and the answers."""
    scores = all_scores(await gather_risk_inputs(patient.id))
    return RiskOut(patient_id=str(patient.id), computed_at=utcnow(), scores=[score_out(s) for s in scores], questions=questions(scores))


async def check_read_risk(user_id: str, role: str, patient_id: str) -> RiskOut:
    """The patient's risk scores: the patient, or a doctor in their care team (audited)."""
    patient = await access_patient_data(user_id, role, patient_id)
    await record_health_data_access(user_id, role, patient_id, "risk.read", "risk")
    return await patient_risk(patient)


def answers_out(answers: RiskAnswers | None) -> RiskAnswersOut:
    if answers is None:
        return RiskAnswersOut()
    return RiskAnswersOut(**answers.model_dump(include=set(RiskAnswersOut.model_fields)))


async def do_save_risk_answers(patient_id: str, request: RiskAnswersRequest) -> RiskAnswersOut:
    """Store the fields the patient sent (one document per patient, upserted)."""
    now = utcnow()
    sent = request.model_dump(exclude_unset=True, mode="json")
    changes = {**sent, **{f"answered_at.{name}": now for name in sent}, "updated_at": now}
    await RiskAnswers.get_pymongo_collection().update_one({"patient_id": PydanticObjectId(patient_id)}, {"$set": changes}, upsert=True)
    return answers_out(await RiskAnswers.find_one({"patient_id": PydanticObjectId(patient_id)}))


async def check_save_risk_answers(user_id: str, role: str, request: RiskAnswersRequest) -> RiskAnswersEnvelope:
    """The patient's own answers, saved, with the scores they change."""
    patient = await access_patient_data(user_id, role, user_id)
    answers = await do_save_risk_answers(user_id, request)
    return RiskAnswersEnvelope(answers=answers, risk=await patient_risk(patient))
