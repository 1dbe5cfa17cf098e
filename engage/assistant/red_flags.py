"""Red flags: the rules that decide an emergency, before any model reads the message.

Each rule (data/red_flags.yaml) names terms, regular expressions over the normalised message,
and the combinations of terms that fire it. A term's match counts unless it is negated in its
own clause ("no chest pain", "I don't have a stiff neck but...") or, for terms that say so,
softened ("a bit of", "slight"). Clauses end at punctuation and at words that turn the sentence
("but", "although", "and my ..."), so "no fever, but my chest pain spreads to my arm" still fires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from engage.assistant.data_files import load_data
from engage.assistant.normalise import pattern_text

NEGATION_WINDOW = 6  # tokens before a match that a negation reaches
MILD_WINDOW = 3

_CLAUSE_END = re.compile(
    r"[.,;:!?]|\b(but|however|though|although|except|whereas|while|yet)\b|\band (i|i'm|my|it|it's|he|he's|she|she's|his|her|the|now|then|there|also|they|we)\b"
)
_NEGATION = re.compile(
    r"\b(no|not|never|without|denies|deny|denied|don't|doesn't|didn't|haven't|hasn't|hadn't|isn't|aren't|wasn't|weren't|"
    r"none|nor|neither|free of|no longer|rather than|instead of|nothing like|ruled out|negative for)\b"
)
# Phrases that contain a negation word but do not deny what follows them.
_NOT_NEGATIONS = re.compile(
    r"\b(not sure|not certain|not kidding|not joking|no idea|don't know|didn't know|not only|no doubt|"
    r"can't tell|not just|no matter|if not|whether or not|not stop\w*|won't stop|never stops|no one|nobody)\b"
)
# Negations that are themselves the alarming part of a rule ("it won't stop", "doesn't fade").
_ALARMING_NEGATIONS = re.compile(
    r"\b(won't|will not|wont|doesn't|does not|didn't|can't|cannot|can not|isn't|is not|hasn't|has not|not|couldn't)"
    r" (stop\w*|fade\w*|go away|disappear|wake\w*|respond\w*|breath\w*|blanch\w*|get (enough )?air|speak|talk|move|lift|see|swallow)\b"
)
_MILD = re.compile(r"\b(a bit|a little|bit of|slight|slightly|mild|mildly|minor|tiny|small|little|some)\b")


@dataclass(frozen=True)
class RedFlagRule:
    code: str
    label: str
    terms: dict[str, list[re.Pattern[str]]]
    fire_when: list[list[str]]
    mild_blocks: frozenset[str]


@cache
def red_flag_rules() -> list[RedFlagRule]:
    """The rules of data/red_flags.yaml, compiled once."""
    rules = []
    for code, spec in load_data("red_flags.yaml").items():
        terms = {name: [re.compile(p) for p in patterns] for name, patterns in spec["terms"].items()}
        for combination in spec["fire_when"]:
            missing = [t for t in combination if t not in terms]
            if missing:
                raise ValueError(f"red flag {code}: fire_when names unknown terms {missing}")
        rules.append(RedFlagRule(code, spec["label"], terms, spec["fire_when"], frozenset(spec.get("mild_blocks") or [])))
    return rules


def _clause_prefix(text: str, start: int) -> str:
    """The words of the match's clause before the match."""
    prefix = text[:start]
    cut = 0
    for boundary in _CLAUSE_END.finditer(prefix):
        cut = boundary.end()
    return prefix[cut:]


def is_negated(text: str, start: int) -> bool:
    """A negation word stands in the few words before `start`, in the same clause."""
    words = _NOT_NEGATIONS.sub(" ", _clause_prefix(text, start)).split()
    return bool(_NEGATION.search(" ".join(words[-NEGATION_WINDOW:])))


def is_softened(text: str, start: int) -> bool:
    words = _clause_prefix(text, start).split()
    return bool(_MILD.search(" ".join(words[-MILD_WINDOW:])))


def denies_within(span: str) -> bool:
    """A match that runs on into another clause which denies ("hives on my arms but no trouble breathing")."""
    boundaries = list(_CLAUSE_END.finditer(span))
    if not boundaries:
        return False
    rest = _ALARMING_NEGATIONS.sub(" ", _NOT_NEGATIONS.sub(" ", span[boundaries[-1].end():]))
    return bool(_NEGATION.search(rest))


def term_present(text: str, patterns: list[re.Pattern[str]], softenable: bool) -> bool:
    """Some pattern matches where it is neither negated nor (when softenable) softened."""
    for pattern in patterns:
        for match in pattern.finditer(text):
            if is_negated(text, match.start()) or denies_within(match.group(0)):
                continue
            if softenable and is_softened(text, match.start()):
                continue
            return True
    return False


def find_red_flags(normalised: str) -> list[str]:
    """The codes of every red-flag rule the (normalised) message fires, in rule order."""
    return [rule.code for rule in red_flag_rules() if _fires(rule, normalised)]


def _fires(rule: RedFlagRule, normalised: str) -> bool:
    present: dict[str, bool] = {}
    for combination in rule.fire_when:
        for term in combination:
            if term not in present:
                present[term] = term_present(normalised, rule.terms[term], term in rule.mild_blocks)
        if all(present[term] for term in combination):
            return True
    return False


def red_flag_label(code: str) -> str:
    return next(rule.label for rule in red_flag_rules() if rule.code == code)


def pattern_words() -> list[str]:
    """The literal words of every rule, for the speller's vocabulary."""
    return [pattern_text(p.pattern) for rule in red_flag_rules() for patterns in rule.terms.values() for p in patterns]
