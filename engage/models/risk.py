"""A patient's answers to the risk questionnaire: what the record lacks for the risk scores."""

from __future__ import annotations

from datetime import datetime

from beanie import Document
from beanie import PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING
from pymongo import IndexModel

from engage.models.base import utcnow


class RiskAnswers(Document):
    patient_id: PydanticObjectId
    birth_date: str | None = None  # YYYY-MM-DD
    sex: str | None = None  # female | male (the equations' sex)
    race_group: str | None = None  # white | african_american | other (as the Pooled Cohort Equations define it)
    smoker: bool | None = None
    diabetes: bool | None = None
    bp_treated: bool | None = None
    height_cm: float | None = None
    waist_cm: float | None = None
    physically_active: bool | None = None  # at least 30 minutes a day
    daily_fruit_veg: bool | None = None
    bp_medication: bool | None = None  # ever taken blood-pressure medication regularly (FINDRISC)
    high_glucose_history: bool | None = None
    family_diabetes: str | None = None  # none | second_degree | first_degree
    answered_at: dict[str, datetime] = Field(default_factory=dict)  # when each answer was last given
    updated_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "risk_answers"
        indexes = [IndexModel([("patient_id", ASCENDING)], unique=True, name="patient_unique")]
