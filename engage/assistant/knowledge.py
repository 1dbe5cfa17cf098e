"""Answering clinic questions from the clinic's own data: hours, address, phone, fees and its FAQ.

Pure: the caller reads the clinic, its doctors' profiles and its FAQ, and passes them in. An FAQ
entry whose question is close to the message wins; otherwise the topic the message asks about
(hours, address, phone, email, fees) is answered from the clinic's records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FAQ_MATCH = 0.45  # cosine similarity of character n-grams above which an FAQ question is "the same"
FAQ_FALLBACK = 0.25  # a weaker match still answers when no topic of the records fits

TOPICS = {
    "hours": re.compile(r"\b(open|opens|opening|close|closes|closing|hours|times|when are you|weekend|weekends|saturday|sunday|holiday\w*|late|early)\b"),
    "address": re.compile(r"\b(where|address|located|location|find you|directions|get to|get there|map|park|parking|train|bus)\b"),
    "phone": re.compile(r"\b(phone|call|ring|telephone|number|contact)\b"),
    "email": re.compile(r"\b(email|e-mail|mail)\b"),
    "fees": re.compile(r"\b(cost|costs|price|prices|fee|fees|charge|charges|pay|paying|payment|much|insurance|expensive|free)\b"),
}


@dataclass(frozen=True)
class ClinicFacts:
    name: str
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    hours: dict[int, tuple[str, str]] = field(default_factory=dict)  # weekday -> (opens, closes), local time
    timezone: str = "UTC"
    fees: list[tuple[str, float]] = field(default_factory=list)  # (doctor name, fee)
    faq: list[tuple[str, str]] = field(default_factory=list)  # (question, answer)


def clinic_hours(windows: list[list[tuple[int, str, str]]]) -> dict[int, tuple[str, str]]:
    """Opening hours per weekday: from the earliest start to the latest end of its doctors' windows."""
    hours: dict[int, tuple[str, str]] = {}
    for doctor_windows in windows:
        for weekday, start, end in doctor_windows:
            opens, closes = hours.get(weekday, (start, end))
            hours[weekday] = (min(opens, start), max(closes, end))
    return dict(sorted(hours.items()))


def best_faq(question: str, faq: list[tuple[str, str]]) -> tuple[float, tuple[str, str] | None]:
    """The FAQ entry whose question is closest to this one (character n-grams), with its similarity."""
    if not faq:
        return 0.0, None
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = vectorizer.fit_transform([q for q, _ in faq] + [question])
    similarities = cosine_similarity(matrix[-1], matrix[:-1])[0]
    best = int(similarities.argmax())
    return float(similarities[best]), faq[best]


def _hours_text(facts: ClinicFacts) -> str:
    if not facts.hours:
        return f"{facts.name} has not published opening hours yet."
    days = "; ".join(f"{WEEKDAYS[d]} {opens}-{closes}" for d, (opens, closes) in facts.hours.items())
    closed = [WEEKDAYS[d] for d in range(7) if d not in facts.hours]
    text = f"{facts.name} is open {days} ({facts.timezone} time)."
    if closed:
        text += f" Closed on {', '.join(closed)}."
    return text


def _fees_text(facts: ClinicFacts) -> str:
    if not facts.fees:
        return f"{facts.name} has not published its fees; the front desk can tell you."
    prices = sorted({fee for _, fee in facts.fees})
    if len(prices) == 1:
        return f"A consultation at {facts.name} costs {prices[0]:g}."
    return f"Consultations at {facts.name} cost from {prices[0]:g} to {prices[-1]:g}, depending on the doctor."


def answer_clinic_question(normalised: str, facts: ClinicFacts) -> str:
    """The answer to a clinic question, from the FAQ or the clinic's records."""
    similarity, entry = best_faq(normalised, facts.faq)
    if entry is not None and similarity >= FAQ_MATCH:
        return entry[1]
    parts = []
    for topic, pattern in TOPICS.items():
        if not pattern.search(normalised):
            continue
        if topic == "hours":
            parts.append(_hours_text(facts))
        elif topic == "address":
            parts.append(f"{facts.name} is at {facts.address}." if facts.address else f"{facts.name} has not published its address yet.")
        elif topic == "phone":
            parts.append(f"You can call {facts.name} on {facts.phone}." if facts.phone else f"{facts.name} has not published a phone number.")
        elif topic == "email":
            parts.append(f"{facts.name}'s email is {facts.email}." if facts.email else f"{facts.name} has not published an email address.")
        elif topic == "fees":
            parts.append(_fees_text(facts))
    if parts:
        return " ".join(dict.fromkeys(parts))
    if entry is not None and similarity >= FAQ_FALLBACK:
        return entry[1]
    summary = [_hours_text(facts)]
    if facts.address:
        summary.append(f"Address: {facts.address}.")
    if facts.phone:
        summary.append(f"Phone: {facts.phone}.")
    return " ".join(summary) + " For anything else, ask me to put you through to a person."
