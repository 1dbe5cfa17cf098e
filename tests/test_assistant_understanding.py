"""The assistant's understanding, offline: every red-flag rule fires on its own phrasings and not
when denied or mild; intents, triage levels and specialties; normalisation; determinism."""

from __future__ import annotations

from pathlib import Path

import pytest

from engage.assistant.intents import INTENTS, training_examples
from engage.assistant.normalise import Speller, normalise
from engage.assistant.red_flags import red_flag_rules
from engage.assistant.specialties import canonical_specialty, specialty_catalogue
from engage.assistant.understanding import Understander, understander

NUMBER = "112"

# Every rule with phrasings that must fire it, and phrasings that deny or soften it.
RED_FLAGS = {
    "chest_pain_spreading": (
        ["chest pain going down my left arm", "crushing chest pain and I'm sweating", "chest tightness and I nearly fainted", "pain in my chest radiating to the jaw"],
        ["no chest pain", "I don't have chest pain, just my arm hurts from the gym", "no chest pain and no sweating"],
    ),
    "breathing_difficulty": (
        ["I can't breathe", "he is struggling to breathe", "her lips are turning blue", "severe shortness of breath at rest"],
        ["I'm not struggling to breathe", "a little short of breath on the stairs", "no difficulty breathing"],
    ),
    "stroke_signs": (
        ["his face is drooping on one side", "her speech is slurred all of a sudden", "sudden weakness in my left arm", "I suddenly lost vision in one eye"],
        ["no slurred speech and no face drooping", "I had a stroke years ago and need a check up"],
    ),
    "thunderclap_headache": (
        ["the worst headache of my life", "sudden severe headache out of nowhere", "thunderclap headache"],
        ["a slight headache", "not the worst headache of my life, just annoying"],
    ),
    "suicidal_thoughts": (
        ["I want to kill myself", "I've been having suicidal thoughts", "I took an overdose", "I swallowed a whole bottle of pills"],
        ["I'm not suicidal, just tired", "I have never thought about killing myself"],
    ),
    "anaphylaxis": (
        ["my throat is closing up", "my tongue is swelling after a wasp sting", "anaphylactic shock", "allergic reaction and I'm wheezing"],
        ["no throat swelling, just a runny nose", "no allergic reaction this time"],
    ),
    "uncontrolled_bleeding": (
        ["the bleeding won't stop", "I can't stop the bleeding", "he is bleeding heavily from his head", "blood is gushing out"],
        ["the cut has stopped bleeding", "no heavy bleeding", "a little bleeding from my gums"],
    ),
    "unresponsive": (
        ["my dad is unresponsive", "she is unconscious", "he collapsed and won't wake up", "my husband is not breathing"],
        ["he was never unconscious", "she is not unresponsive, just sleepy"],
    ),
    "prolonged_seizure": (
        ["she has been having a seizure for 6 minutes", "his fit won't stop", "he keeps having seizures one after another"],
        ["I had a seizure as a child, can I drive", "no seizures since last year"],
    ),
    "gi_bleeding": (
        ["I'm vomiting blood", "there is blood in my sick", "black tarry stools and I feel faint"],
        ["no vomiting blood", "black stools since I started iron tablets"],
    ),
    "meningitis_signs": (
        ["stiff neck and a fever", "a rash that doesn't fade under a glass", "my neck is stiff and light hurts my eyes"],
        ["no stiff neck and no fever", "my neck is a bit stiff from sleeping badly"],
    ),
    "pregnancy_bleeding": (
        ["I'm pregnant and bleeding heavily", "12 weeks pregnant and passing clots", "pregnant with a lot of blood"],
        ["I'm pregnant with no bleeding", "pregnant and a little spotting"],
    ),
    "infant_fever": (
        ["my 3 week old has a fever", "newborn with a temperature", "my 2 month old baby has a fever"],
        ["my newborn has no fever", "my 2 year old has a fever"],
    ),
    "severe_burns": (
        ["a severe burn on my leg", "chemical burn on my face", "third degree burn"],
        ["a small burn from the kettle", "no burns, just a scald on my finger"],
    ),
    "head_injury": (
        ["he hit his head and is confused", "she banged her head and keeps vomiting", "I hit my head and can't remember what happened"],
        ["I hit my head but no confusion and no vomiting", "I bumped my head yesterday, feel fine"],
    ),
    "rigid_abdomen": (
        ["my stomach is rigid and the pain is severe", "my belly is hard as a board and it hurts"],
        ["my stomach is not rigid, it just hurts a bit", "mild tummy ache"],
    ),
}

MILD_FORMS = [
    "a bit of heartburn",
    "no chest pain, just heartburn after dinner",
    "I have a cold and a slight cough",
    "my 8 month old has a runny nose",
    "small cut on my finger, it stopped bleeding",
    "slightly short of breath after running",
]


@pytest.fixture(scope="module")
def model() -> Understander:
    return understander()


def test_every_rule_in_the_data_has_a_test():
    assert {rule.code for rule in red_flag_rules()} == set(RED_FLAGS)


@pytest.mark.parametrize(("code", "text"), [(code, text) for code, (fire, _) in RED_FLAGS.items() for text in fire])
def test_red_flag_fires(model, code, text):
    result = model.understand(text, NUMBER)
    assert code in result.red_flags
    assert result.triage.level == "emergency" and result.intent == "symptoms"
    assert NUMBER in result.triage.advice


@pytest.mark.parametrize(("code", "text"), [(code, text) for code, (_, quiet) in RED_FLAGS.items() for text in quiet])
def test_red_flag_denied_or_mild_does_not_fire(model, code, text):
    result = model.understand(text, NUMBER)
    assert code not in result.red_flags
    assert result.triage.level != "emergency"


@pytest.mark.parametrize("text", MILD_FORMS)
def test_mild_forms_are_no_emergency(model, text):
    assert model.understand(text, NUMBER).triage.level in ("self_care", "routine", "urgent")


def test_a_negation_in_another_clause_does_not_hide_a_red_flag(model):
    result = model.understand("No fever, but my chest pain is spreading to my left arm", NUMBER)
    assert result.red_flags == ["chest_pain_spreading"]


def test_a_denial_in_the_same_sentence_after_but_counts(model):
    assert model.understand("I have hives on my arms but no trouble breathing", NUMBER).triage.level != "emergency"


@pytest.mark.parametrize("text", ["bleeding from my leg, it won't stop", "a rash, it doesn't fade under a glass"])
def test_an_alarming_negation_is_not_a_denial(model, text):
    assert model.understand(text, NUMBER).triage.level == "emergency"


def test_typos_in_a_red_flag_are_read(model):
    assert model.understand("chest pian spreding to my arm", NUMBER).triage.level == "emergency"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hello there", "greeting"),
        ("bye for now", "goodbye"),
        ("thank you so much", "thanks"),
        ("can I book an apointment with a cardiologist", "book_appointment"),
        ("I need to move my appointment to friday", "reschedule_appointment"),
        ("cancel it", "cancel_appointment"),
        ("when is my next appointment", "list_appointments"),
        ("I've had a headache for three days", "symptoms"),
        ("can I take ibuprofen with my blood pressure pills", "medication_question"),
        ("I need a repeat prescription", "prescription_refill"),
        ("are my blood test results back", "test_results"),
        ("what are your opening hours", "clinic_info"),
        ("I want to talk to a real person", "talk_to_human"),
        ("what's the weather today", "unknown"),
    ],
)
def test_intents(model, text, intent):
    result = model.understand(text, NUMBER)
    assert result.intent == intent
    assert 0 < result.confidence <= 1


def test_no_symptom_means_no_triage(model):
    result = model.understand("what are your opening hours", NUMBER)
    assert result.triage.level is None and result.triage.advice is None and result.specialty is None


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("I have a runny nose and a sore throat", "self_care"),
        ("my knee hurts when I climb stairs", "routine"),
        ("I have a high fever of 40 degrees", "urgent"),
        ("I've got chest pain", "urgent"),
    ],
)
def test_triage_levels(model, text, level):
    assert model.understand(text, NUMBER).triage.level == level


@pytest.mark.parametrize(
    ("text", "specialty"),
    [
        ("I have an itchy rash on my arms", "dermatology"),
        ("my heart keeps racing and I get palpitations", "cardiology"),
        ("my daughter has an earache", "pediatrics"),
        ("it burns when I pee", "urology"),
        ("I feel unwell", "general_practice"),
    ],
)
def test_specialty_for_symptoms(model, text, specialty):
    assert model.understand(text, NUMBER).specialty == specialty


def test_booking_names_a_specialty(model):
    assert model.understand("book me with a dermatologist", NUMBER).specialty == "dermatology"


def test_free_text_specialties_map_to_slugs():
    assert canonical_specialty("  Family  Medicine ") == "general_practice"
    assert canonical_specialty("ENT") == "ent"
    assert canonical_specialty("Paediatrics") == "pediatrics"
    assert canonical_specialty("cardiology") == "cardiology"
    assert canonical_specialty("Orthopaedics") == "orthopedics"
    assert canonical_specialty("astrology") is None


def test_catalogue_lists_the_contract_slugs():
    assert list(specialty_catalogue()) == [
        "general_practice", "cardiology", "dermatology", "neurology", "pediatrics", "orthopedics", "gastroenterology",
        "ent", "ophthalmology", "psychiatry", "gynecology", "endocrinology", "pulmonology", "urology",
    ]


def test_training_data_covers_every_intent():
    assert {intent for _, intent in training_examples()} == set(INTENTS)


def test_normalise_spells_out_contractions_and_fixes_one_edit_typos():
    speller = Speller(["pain in my chest", "fever and chills"], english={"years", "ears"})
    assert normalise("I CANT   breathe!!", speller) == "i can't breathe ! !"
    assert normalise("pian", speller) == "pain"  # a swap
    assert normalise("chils", speller) == "chills"  # a dropped letter
    assert normalise("years", speller) == "years"  # a real word is never corrected


def test_training_is_deterministic(model):
    other = Understander()
    texts = ["book me in", "my head hurts", "whats ur address", "blorp"]
    assert [model.understand(t, NUMBER) for t in texts] == [other.understand(t, NUMBER) for t in texts]


REGRESSIONS = Path(__file__).resolve().parent / "data" / "assistant_red_flag_regressions.txt"


def _regressions() -> list[tuple[str, str]]:
    lines = [line.strip() for line in REGRESSIONS.read_text(encoding="utf-8").splitlines()]
    return [tuple(line.split("|", 1)) for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize(("expected", "text"), _regressions())
def test_red_flag_regressions(model, expected, text):
    assert (model.understand(text, NUMBER).triage.level == "emergency") == (expected == "E")
