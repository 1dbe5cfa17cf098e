"""Understanding one message: red flags first, then the intent model, triage and specialty.

This is the whole of what POST /api/assistant/classify answers, and the first step of every
reply in a conversation. Pure and offline: no database, no network.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from spellchecker import SpellChecker

from engage.assistant.intents import IntentModel, intent_words, training_examples
from engage.assistant.normalise import Speller, normalise
from engage.assistant.red_flags import find_red_flags, pattern_words
from engage.assistant.specialties import (
    mentioned_specialty,
    specialty_for,
    specialty_scores,
    specialty_words,
)
from engage.assistant.triage import (
    Triage,
    reports_symptom,
    triage_advice,
    triage_level,
    triage_words,
)

SPECIALTY_WITHOUT_SYMPTOM = {"book_appointment", "talk_to_human", "test_results"}
ENGLISH_MIN_COUNT = 50  # rarer entries of the frequency list are mostly misspellings themselves
# Intents under which a reported symptom still gets triage and a specialty (booking for a rash).
SYMPTOM_BEARING = {"symptoms", "book_appointment", "talk_to_human", "medication_question", "unknown", "greeting"}


@dataclass(frozen=True)
class Understanding:
    text: str  # normalised
    intent: str
    confidence: float
    triage: Triage
    specialty: str | None
    mentioned_specialty: str | None = None
    red_flags: list[str] = field(default_factory=list)
    original: str = ""  # as the patient wrote it (names are not spell-corrected)


class Understander:
    """The speller and the intent model, built once per process (about half a second)."""

    def __init__(self) -> None:
        english = {word for word, count in SpellChecker(distance=1).word_frequency.dictionary.items() if count >= ENGLISH_MIN_COUNT}
        # The intents file holds typos on purpose (for the model): only its real words correct others.
        intent_vocabulary = [w for text in intent_words() for w in text.lower().split() if w in english]
        self.speller = Speller([*intent_vocabulary, *pattern_words(), *triage_words(), *specialty_words()], english)
        examples = [(normalise(text, self.speller), intent) for text, intent in training_examples()]
        self.model = IntentModel(examples)

    def normalise(self, text: str) -> str:
        return normalise(text, self.speller)

    def understand(self, text: str, emergency_number: str) -> Understanding:
        normalised = self.normalise(text)
        red_flags = find_red_flags(normalised)
        guess = self.model.predict(normalised)
        intent, confidence = guess.intent, guess.confidence
        if red_flags:
            intent = "symptoms"  # whatever else it asks, it reports an emergency
        symptom = bool(red_flags) or intent == "symptoms" or (intent in SYMPTOM_BEARING and reports_symptom(normalised))
        level = triage_level(normalised, red_flags, intent == "symptoms") if symptom else None
        if level is not None and intent in ("unknown", "greeting"):
            intent = "symptoms"
        specialty = None
        if level is not None:
            specialty = specialty_for(normalised)
        elif intent in SPECIALTY_WITHOUT_SYMPTOM:
            # Booking (or asking a doctor, or about results) without a symptom: the specialty
            # asked for, or one its words point to ("contraception", "my thyroid results").
            specialty = mentioned_specialty(normalised) or (specialty_for(normalised) if specialty_scores(normalised) else None)
        return Understanding(
            text=normalised,
            intent=intent,
            confidence=confidence,
            triage=Triage(level=level, red_flags=red_flags, advice=triage_advice(level, emergency_number)),
            specialty=specialty,
            mentioned_specialty=mentioned_specialty(normalised),
            red_flags=red_flags,
            original=text,
        )


_understander: Understander | None = None
_lock = threading.Lock()


def understander() -> Understander:
    """The process's Understander, trained on first use (or at start, by warm_up)."""
    global _understander
    if _understander is None:
        with _lock:
            if _understander is None:
                _understander = Understander()
    return _understander
