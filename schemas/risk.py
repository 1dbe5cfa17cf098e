"""Risk scores: the questionnaire a patient answers and the scores GET /api/patients/{id}/risk answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import Field

from schemas.common import CalendarDate
from schemas.common import RequestModel


class RiskAnswersRequest(RequestModel):
    """PUT /api/me/risk-answers: the fields sent replace the stored answers (null clears one)."""

    birth_date: CalendarDate | None = None
    sex: Literal["female", "male"] | None = None
    race_group: Literal["white", "african_american", "other"] | None = None
    smoker: bool | None = None
    diabetes: bool | None = None
    bp_treated: bool | None = None
    height_cm: float | None = Field(default=None, ge=50, le=260)
    waist_cm: float | None = Field(default=None, ge=30, le=250)
    physically_active: bool | None = None
    daily_fruit_veg: bool | None = None
    bp_medication: bool | None = None
    high_glucose_history: bool | None = None
    family_diabetes: Literal["none", "second_degree", "first_degree"] | None = None


class RiskAnswersOut(BaseModel):
    birth_date: str | None = None
    sex: str | None = None
    race_group: str | None = None
    smoker: bool | None = None
    diabetes: bool | None = None
    bp_treated: bool | None = None
    height_cm: float | None = None
    waist_cm: float | None = None
    physically_active: bool | None = None
    daily_fruit_veg: bool | None = None
    bp_medication: bool | None = None
    high_glucose_history: bool | None = None
    family_diabetes: str | None = None
    updated_at: datetime | None = None




class RiskInputOut(BaseModel):
    name: str
    value: Any
    source: Literal["answers", "vitals", "lab_results", "problems", "prescriptions"]
    date: str | None = None
    detail: str | None = None


class RiskScoreOut(BaseModel):
    score: Literal["ascvd_pce", "findrisc", "cha2ds2_vasc"]
    name: str
    value: float | None = Field(description="None when a required input is missing, out of the valid range, or the score does not apply")
    unit: str
    category: str | None = None
    reason: str | None = None
    applicable: bool
    inputs: list[RiskInputOut]
    missing: list[str]
    valid_range: dict[str, Any]
    citation: str
    details: dict[str, Any] = Field(default_factory=dict)
    explanation: str = Field(description="What the score means, in plain language")
    what_lowers_it: list[str] = Field(default_factory=list)


class RiskOut(BaseModel):
    patient_id: str
    computed_at: datetime
    scores: list[RiskScoreOut]
    questions: list[str] = Field(description="Questionnaire fields that would let a missing score be computed")


class RiskAnswersEnvelope(BaseModel):
    answers: RiskAnswersOut
    risk: RiskOut
