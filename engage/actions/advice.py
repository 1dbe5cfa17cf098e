"""AI advice: requesting it (enqueue an RQ job) and writing it (the job), then telling the patient."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from beanie import PydanticObjectId
from pymongo import ReturnDocument

from engage import extensions
from engage.actions.audit import record_health_data_access
from engage.actions.notifications import request_notification
from engage.config import get_settings
from engage.errors import ApiError
from engage.events import publish_to_users
from engage.events.vitals import ADVICE_READY
from engage.integrations.llm import LLMError
from engage.integrations.llm import rephrase_findings
from engage.lib.advice_engine import DISCLAIMER
from engage.lib.advice_engine import URGENT_NOTICE
from engage.lib.advice_engine import build_items
from engage.lib.advice_engine import risk_summary
from engage.lib.advice_engine import summarize
from engage.lib.risk_inputs import gather_risk_inputs
from engage.lib.risk_scores import all_scores
from engage.lib.care import access_patient_data
from engage.lib.presence import online_user_ids
from engage.models.advice import Advice
from engage.models.base import utcnow
from engage.models.user import Role
from engage.models.vitals import VitalReading
from schemas.vitals import AdviceItem
from schemas.vitals import AdviceOut
from schemas.vitals import AdviceReadyEvent

log = logging.getLogger(__name__)

ADVICE_JOB = "workers.advice.generate_advice"
ADVICE_DAYS = 30
PENDING_REUSE = timedelta(minutes=10)  # a second request while one is being written gets that one


def advice_out(advice: Advice) -> AdviceOut:
    return AdviceOut(
        id=str(advice.id),
        patient_id=str(advice.patient_id),
        requested_by=str(advice.requested_by),
        status=advice.status,
        provider=advice.provider,
        fallback_reason=advice.fallback_reason,
        items=[AdviceItem(**{k: v for k, v in item.items() if k in AdviceItem.model_fields}) for item in advice.items],
        urgent=advice.urgent,
        disclaimer=advice.disclaimer,
        summary=advice.summary,
        created_at=advice.created_at,
        ready_at=advice.ready_at,
    )


def _enqueue(advice_id: str) -> None:
    settings = get_settings()
    queue = extensions.queue("advice", extensions.sync_redis(settings))
    queue.enqueue(ADVICE_JOB, advice_id, job_id=f"advice-{advice_id}", job_timeout=int(settings.llm_timeout_seconds) + 120)


async def check_request_advice(user_id: str, role: str, patient_id: str | None) -> tuple[AdviceOut, bool]:
    """The patient, or a related doctor for a patient, asks for advice; returns (advice, newly created)."""
    if role == Role.doctor.value and not patient_id:
        raise ApiError(422, "validation_error", "patient_id: a doctor asks for advice for one patient.", field="patient_id")
    target = patient_id or user_id
    patient = await access_patient_data(user_id, role, target)
    await record_health_data_access(user_id, role, target, "advice.request", "advice")
    pending = await Advice.find_one({"patient_id": patient.id, "status": "pending", "created_at": {"$gte": utcnow() - PENDING_REUSE}})
    if pending is not None:
        return advice_out(pending), False
    advice = Advice(patient_id=patient.id, requested_by=PydanticObjectId(user_id))
    await advice.insert()
    await asyncio.to_thread(_enqueue, str(advice.id))
    return advice_out(advice), True


async def do_generate_advice(advice_id: str) -> str:
    """Job body: summarise 30 days, write the items (LLM phrasing if configured), store, push advice:ready."""
    advice = await Advice.get(PydanticObjectId(advice_id))
    if advice is None or advice.status != "pending":
        return "skipped"  # ran before (RQ retried it) or deleted
    settings = get_settings()
    since = utcnow() - timedelta(days=ADVICE_DAYS)
    rows = await VitalReading.get_pymongo_collection().find(
        {"patient_id": advice.patient_id, "taken_at": {"$gte": since}},
        projection={"_id": 0, "type": 1, "value": 1, "systolic": 1, "diastolic": 1, "unit": 1, "taken_at": 1},
    ).to_list(None)
    summary = summarize(rows, ADVICE_DAYS)
    summary["risk"] = risk_summary(all_scores(await gather_risk_inputs(advice.patient_id)))
    items = build_items(summary)
    provider, model, fallback_reason = "guidelines", None, None
    if settings.llm_configured and items:
        # Only rule ids, severities, guideline names, numbers and our draft wording: no names, ids or dates.
        findings = {
            "period_days": ADVICE_DAYS,
            "findings": [{k: item[k] for k in ("id", "rule", "severity", "guideline", "facts", "text")} for item in items],
        }
        try:
            texts = await rephrase_findings(settings.llm_base_url, settings.llm_api_key, settings.llm_model, settings.llm_timeout_seconds, findings)
        except LLMError as exc:
            fallback_reason = f"llm_failed: {exc}"
            log.warning("advice %s: LLM failed (%s); using the guideline engine", advice_id, exc)
        else:
            provider, model = "llm", settings.llm_model
            for item in items:
                item["guideline_text"] = item["text"]
                item["text"] = texts.get(item["id"], item["text"])
    urgent = any(item["severity"] == "urgent" for item in items)
    for item in items:
        if item["severity"] == "urgent" and URGENT_NOTICE not in item["text"]:
            item["text"] = f"{item['text']} {URGENT_NOTICE}"  # safety wording never depends on the model
    raw = await Advice.get_pymongo_collection().find_one_and_update(
        {"_id": advice.id, "status": "pending"},
        {"$set": {"status": "ready", "provider": provider, "model": model, "fallback_reason": fallback_reason, "items": items,
                  "urgent": urgent, "disclaimer": DISCLAIMER, "summary": summary, "ready_at": utcnow()}},
        return_document=ReturnDocument.AFTER,
    )
    if raw is None:
        return "skipped"
    ready = Advice.model_validate(raw)
    recipients = list(dict.fromkeys([str(ready.patient_id), str(ready.requested_by)]))
    if str(ready.patient_id) not in await online_user_ids([str(ready.patient_id)]):
        await request_notification(recipient_id=str(ready.patient_id), kind="advice_ready", idempotency_key=f"advice_ready:{ready.id}",
                                   context={"advice_id": str(ready.id)})
    await publish_to_users(ADVICE_READY, AdviceReadyEvent(advice=advice_out(ready)), recipients)
    return provider


async def check_list_advice(user_id: str, role: str, patient_id: str | None, limit: int) -> list[AdviceOut]:
    """The patient's advice, newest first (a related doctor's read is audited)."""
    if role == Role.doctor.value and not patient_id:
        raise ApiError(422, "validation_error", "patient_id: a doctor lists one patient's advice.", field="patient_id")
    target = patient_id or user_id
    patient = await access_patient_data(user_id, role, target)
    await record_health_data_access(user_id, role, target, "advice.read", "advice")
    rows = await Advice.find(Advice.patient_id == patient.id).sort(-Advice.created_at).limit(limit).to_list()
    return [advice_out(a) for a in rows]
