"""Triage below the red flags: urgent, routine, self care, or nothing when no symptom is reported."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from engage.assistant.data_files import load_data
from engage.assistant.normalise import pattern_text
from engage.assistant.red_flags import term_present

LEVELS = ("emergency", "urgent", "routine", "self_care")


@dataclass(frozen=True)
class Triage:
    level: str | None  # one of LEVELS, or None when the message reports no symptom
    red_flags: list[str] = field(default_factory=list)
    advice: str | None = None


@dataclass(frozen=True)
class TriagePatterns:
    symptom: list[re.Pattern[str]]
    urgent: list[re.Pattern[str]]
    self_care: list[re.Pattern[str]]
    persistent: list[re.Pattern[str]]
    advice: dict[str, str]


@cache
def triage_patterns() -> TriagePatterns:
    data = load_data("triage.yaml")
    return TriagePatterns(
        symptom=[re.compile(p) for p in data["symptom"]],
        urgent=[re.compile(p) for p in data["urgent"]],
        self_care=[re.compile(p) for p in data["self_care"]],
        persistent=[re.compile(p) for p in data["persistent"]],
        advice=dict(data["advice"]),
    )


def reports_symptom(normalised: str) -> bool:
    """The message names a symptom that it does not deny ("no fever" reports none)."""
    return term_present(normalised, triage_patterns().symptom, softenable=False)


def triage_level(normalised: str, red_flags: list[str], symptom_intent: bool) -> str | None:
    """emergency when a red flag fired; otherwise by the patterns, when a symptom is reported."""
    if red_flags:
        return "emergency"
    patterns = triage_patterns()
    if not (symptom_intent or reports_symptom(normalised)):
        return None
    if term_present(normalised, patterns.urgent, softenable=True):
        return "urgent"
    if term_present(normalised, patterns.self_care, softenable=False) and not term_present(normalised, patterns.persistent, softenable=False):
        return "self_care"
    if not reports_symptom(normalised) and not symptom_intent:
        return None
    return "routine"


def triage_advice(level: str | None, emergency_number: str) -> str | None:
    if level is None:
        return None
    return triage_patterns().advice[level].format(number=emergency_number)


def triage_words() -> list[str]:
    patterns = triage_patterns()
    return [pattern_text(p.pattern) for p in patterns.symptom + patterns.urgent + patterns.self_care + patterns.persistent]
