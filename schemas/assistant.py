"""The assistant: classify requests and answers, the metadata of its chat messages, clinic FAQs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import RequestModel

CLASSIFY_TEXT_MAX = 2000
FAQ_ENTRIES_MAX = 100

Intent = Literal[
    "greeting", "goodbye", "thanks", "book_appointment", "reschedule_appointment", "cancel_appointment",
    "list_appointments", "symptoms", "medication_question", "prescription_refill", "test_results",
    "clinic_info", "talk_to_human", "unknown",
]
TriageLevel = Literal["emergency", "urgent", "routine", "self_care"]
SpecialtySlug = Literal[
    "general_practice", "cardiology", "dermatology", "neurology", "pediatrics", "orthopedics", "gastroenterology",
    "ent", "ophthalmology", "psychiatry", "gynecology", "endocrinology", "pulmonology", "urology",
]


class ClassifyRequest(RequestModel):
    """POST /api/assistant/classify."""

    text: str = Field(min_length=1, max_length=CLASSIFY_TEXT_MAX)


class TriageOut(BaseModel):
    level: TriageLevel | None
    red_flags: list[str]
    advice: str | None


class ClassifyOut(BaseModel):
    intent: Intent
    confidence: float = Field(ge=0, le=1)
    triage: TriageOut
    specialty: SpecialtySlug | None


# --- actions offered with a reply (the message's "assistant" object) ---------------------


class BookSlotAction(BaseModel):
    type: Literal["book_slot"] = "book_slot"
    doctor_id: str
    start: datetime
    label: str


class CallEmergencyAction(BaseModel):
    type: Literal["call_emergency"] = "call_emergency"
    number: str
    label: str


class HandoverAction(BaseModel):
    type: Literal["handover"] = "handover"
    conversation_id: str | None  # None: offered, not yet opened (the patient's "talk to a person")
    label: str = "Talk to a person"


class RescheduleAction(BaseModel):
    type: Literal["reschedule"] = "reschedule"
    appointment_id: str
    start: datetime | None = None  # a free time of the same doctor to move to; None: let the patient choose
    label: str


class CancelAction(BaseModel):
    type: Literal["cancel"] = "cancel"
    appointment_id: str
    label: str


class OpenAction(BaseModel):
    type: Literal["open"] = "open"
    url: str
    label: str


Action = Annotated[
    BookSlotAction | CallEmergencyAction | HandoverAction | RescheduleAction | CancelAction | OpenAction,
    Field(discriminator="type"),
]


class AssistantInfo(BaseModel):
    """What a message of the assistant (or a handover summary it posted) carries besides its body."""

    intent: Intent
    triage: TriageOut
    actions: list[Action] = Field(default_factory=list)
    automated: Literal[True] = True
    summary: bool = False  # a handover summary in the patient's conversation with a doctor


# --- clinic FAQ -------------------------------------------------------------------------

Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class FaqEntryIn(RequestModel):
    question: Question
    answer: Answer


class FaqPutRequest(RequestModel):
    """PUT /api/clinics/{id}/faq: the whole FAQ (replaces the stored one)."""

    entries: list[FaqEntryIn] = Field(max_length=FAQ_ENTRIES_MAX)
    emergency_number: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 ]{1,19}$")


class FaqOut(BaseModel):
    clinic_id: str
    entries: list[FaqEntryIn]
    emergency_number: str | None
    updated_at: datetime | None


class SpecialtyOut(BaseModel):
    """GET /api/specialties: a catalogue slug with its display name, or (slug null) free text a
    doctor's profile still holds that matches no slug."""

    slug: SpecialtySlug | None
    name: str
    doctors: int
