"""The assistant's documents: a clinic's FAQ, and the assistant's state in each conversation."""

from __future__ import annotations

from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field

from engage.models.base import utcnow


class FaqEntry(BaseModel):
    question: str
    answer: str


class ClinicFaq(Document):
    """What a clinic's admins tell the assistant to answer; _id is the clinic's id."""

    id: PydanticObjectId  # type: ignore[assignment]
    entries: list[FaqEntry] = Field(default_factory=list)
    emergency_number: str | None = None  # overrides ENGAGE_EMERGENCY_NUMBER for this clinic's patients
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: PydanticObjectId | None = None

    class Settings:
        name = "clinic_faqs"


class OfferedSlot(BaseModel):
    doctor_id: str
    start: datetime


class AssistantState(Document):
    """A conversation's multi-turn state; _id is the conversation's id.

    `flow` is what the assistant is in the middle of ("book", "reschedule", "cancel"), and the
    fields after it what it knows so far; `appointment_id` is the appointment last discussed
    ("cancel it" after a list). `notes` keeps the patient's reports for a handover summary.
    """

    id: PydanticObjectId  # type: ignore[assignment]
    patient_id: PydanticObjectId
    flow: str | None = None
    specialty: str | None = None
    doctor_id: str | None = None
    offered: list[OfferedSlot] = Field(default_factory=list)
    appointment_id: str | None = None
    listed: list[str] = Field(default_factory=list)  # appointment ids last listed, in order
    notes: list[str] = Field(default_factory=list)
    triage_level: str | None = None
    red_flags: list[str] = Field(default_factory=list)
    specialty_seen: str | None = None
    last_seq: int = 0  # the newest patient message answered (a re-run job answers nothing twice)
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "assistant_states"
