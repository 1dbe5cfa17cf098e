"""The assistant's HTTP side: classifying one message, opening a patient's conversation with the
assistant's bot user, and the clinics' FAQs.

Replies in the conversation are engage/actions/assistant_replies.py (run by a worker job).
"""

from __future__ import annotations

import asyncio
from typing import Any

from beanie import PydanticObjectId
from pymongo.errors import DuplicateKeyError

from engage.actions.conversations import do_open_conversation
from engage.actions.rate_limits import hit_rate_limit
from engage.assistant.understanding import understander
from engage.config import get_settings
from engage.errors import ApiError
from engage.lib.booking import access_clinic
from engage.lib.clinic_staff import check_clinic_scope
from engage.lib.conversations import one_conversation_out
from engage.models.assistant import ClinicFaq, FaqEntry
from engage.models.base import utcnow
from engage.models.conversation import Conversation
from engage.models.user import ASSISTANT_USER_ID, Role, User
from schemas.assistant import ClassifyOut, ClassifyRequest, FaqOut, FaqPutRequest

ASSISTANT_NAME = "Engage Assistant"
ASSISTANT_EMAIL = "assistant@engage.invalid"  # never receives mail; .invalid is reserved for that
UNUSABLE_PASSWORD = "!"  # not an argon2 hash: no password verifies against it


async def warm_up_assistant() -> None:
    """Train the intent model now (in a thread), so the first patient does not wait for it."""
    await asyncio.to_thread(understander)


async def check_classify(user: User, request: ClassifyRequest) -> dict[str, Any]:
    """The model's answer for one message, without conversation state (rate-limited per user)."""
    settings = get_settings()
    if not await hit_rate_limit("assistant_classify", str(user.id), settings.assistant_classify_limit, settings.assistant_classify_window):
        raise ApiError(
            429, "rate_limited",
            f"Too many classifications: at most {settings.assistant_classify_limit} every {settings.assistant_classify_window:g} seconds.",
            retry_after=settings.assistant_classify_window,
        )
    result = understander().understand(request.text, settings.emergency_number)
    return ClassifyOut.model_validate(
        {
            "intent": result.intent,
            "confidence": result.confidence,
            "triage": {"level": result.triage.level, "red_flags": result.triage.red_flags, "advice": result.triage.advice},
            "specialty": result.specialty,
        }
    ).model_dump(mode="json")


async def do_ensure_assistant_user() -> User:
    """The bot user the assistant speaks as, created on first use (one fixed id; races settle on it)."""
    existing = await User.get(PydanticObjectId(ASSISTANT_USER_ID))
    if existing is not None:
        return existing
    bot = User(
        id=PydanticObjectId(ASSISTANT_USER_ID), email=ASSISTANT_EMAIL, password_hash=UNUSABLE_PASSWORD,
        name=ASSISTANT_NAME, role=Role.assistant, approved=True,
    )
    try:
        await bot.insert()
    except DuplicateKeyError:
        found = await User.get(PydanticObjectId(ASSISTANT_USER_ID))
        if found is None:
            raise
        return found
    return bot


async def check_open_assistant_conversation(patient: User) -> tuple[dict[str, Any], bool]:
    """The patient's conversation with the assistant (created the first time); returns it as the
    patient sees it, and whether it was created. The bot is no doctor: no care relation is made."""
    if patient.role != Role.patient:
        raise ApiError(403, "forbidden", "Only patients talk with the assistant.")
    bot = await do_ensure_assistant_user()
    conversation, created = await do_open_conversation(patient.id, bot.id)
    return await one_conversation_out(conversation, str(patient.id), bot), created


async def is_assistant_conversation(conversation_id: str) -> bool:
    conversation = await Conversation.get(PydanticObjectId(conversation_id)) if PydanticObjectId.is_valid(conversation_id) else None
    return conversation is not None and str(conversation.doctor_id) == ASSISTANT_USER_ID


def _faq_out(clinic_id: str, faq: ClinicFaq | None) -> dict[str, Any]:
    return FaqOut(
        clinic_id=clinic_id,
        entries=[{"question": e.question, "answer": e.answer} for e in faq.entries] if faq else [],
        emergency_number=faq.emergency_number if faq else None,
        updated_at=faq.updated_at if faq else None,
    ).model_dump(mode="json")


async def read_clinic_faq(clinic_id: str) -> dict[str, Any]:
    """A clinic's FAQ (empty when it has none yet); 404 for an unknown clinic."""
    clinic = await access_clinic(clinic_id)
    return _faq_out(str(clinic.id), await ClinicFaq.get(clinic.id))


async def do_put_clinic_faq(admin: User, clinic_id: str, request: FaqPutRequest) -> dict[str, Any]:
    """Replace a clinic's FAQ and emergency number (its clinic_admin, or a platform admin)."""
    check_clinic_scope(admin, clinic_id)
    clinic = await access_clinic(clinic_id)
    entries = [FaqEntry(question=e.question, answer=e.answer) for e in request.entries]
    fields = {"entries": [e.model_dump() for e in entries], "emergency_number": request.emergency_number, "updated_at": utcnow(), "updated_by": admin.id}
    await ClinicFaq.get_pymongo_collection().update_one({"_id": clinic.id}, {"$set": fields}, upsert=True)
    return _faq_out(str(clinic.id), await ClinicFaq.get(clinic.id))
