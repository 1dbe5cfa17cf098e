"""Reading "when" and "which one" from a patient's short replies ("tomorrow afternoon", "the 2nd")."""

from __future__ import annotations

import re
from datetime import date, timedelta

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PARTS_OF_DAY = {"morning": (0, 12), "afternoon": (12, 17), "evening": (17, 24)}
ORDINALS = {
    "1": 1, "one": 1, "first": 1, "1st": 1, "2": 2, "two": 2, "second": 2, "2nd": 2, "3": 3, "three": 3, "third": 3, "3rd": 3,
    "4": 4, "four": 4, "fourth": 4, "4th": 4, "5": 5, "five": 5, "fifth": 5, "5th": 5, "last": -1,
}
_CHOICE = re.compile(r"^(?:(?:the|number|no|option|slot|#)\s*)?(1st|2nd|3rd|4th|5th|first|second|third|fourth|fifth|last|one|two|three|four|five|[1-5])(?:\s*(?:one|please|pls|thanks|slot|option|\.|!))*$")
_REFERS_BACK = re.compile(r"\b(it|that|that one|this one|this|the one|same one)\b")


def day_asked(normalised: str, today: date) -> date | None:
    """The day a message names: today, tomorrow, a weekday (the next one), next week (its Monday)."""
    if re.search(r"\btoday\b|\btonight\b|\bthis (morning|afternoon|evening)\b", normalised):
        return today
    if re.search(r"\btomorrow\b", normalised):
        return today + timedelta(days=1)
    for index, name in enumerate(WEEKDAY_NAMES):
        if re.search(rf"\b{name}\b", normalised):
            ahead = (index - today.weekday()) % 7 or 7
            if re.search(rf"\bnext {name}\b", normalised) and ahead < 7:
                ahead += 7 if (index - today.weekday()) % 7 == 0 else 0
            return today + timedelta(days=ahead)
    if re.search(r"\bnext week\b", normalised):
        return today + timedelta(days=7 - today.weekday())
    return None


def part_of_day(normalised: str) -> tuple[int, int] | None:
    """Local hours [from, to) for "morning", "afternoon" or "evening"."""
    for word, hours in PARTS_OF_DAY.items():
        if re.search(rf"\b{word}\b", normalised):
            return hours
    return None


def choice_asked(normalised: str) -> int | None:
    """1-based position a short reply picks ("2", "the second one"), -1 for "last", or None."""
    match = _CHOICE.match(normalised.strip())
    return ORDINALS[match.group(1)] if match else None


def refers_back(normalised: str) -> bool:
    """The message points at what was just discussed ("cancel it", "move that one")."""
    return bool(_REFERS_BACK.search(normalised))
