"""Specialties: the slugs doctors' profiles use, their display names, and symptom -> specialty.

The catalogue is data/specialties.yaml. `canonical_specialty` maps free text a doctor typed
("Family medicine", "ENT") to its slug; `specialty_for` scores a patient's (normalised) message
against each specialty's keywords.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from engage.assistant.data_files import load_data
from engage.assistant.normalise import pattern_text
from engage.assistant.red_flags import is_negated

GENERAL = "general_practice"
PEDIATRICS = "pediatrics"
STRONG_WEIGHT = 2


@dataclass(frozen=True)
class Specialty:
    slug: str
    name: str
    aliases: tuple[str, ...]
    keywords: tuple[re.Pattern[str], ...]
    strong: tuple[re.Pattern[str], ...]


@cache
def specialty_catalogue() -> dict[str, Specialty]:
    """Every specialty by slug, in the data file's order."""
    return {
        slug: Specialty(
            slug=slug,
            name=spec["name"],
            aliases=tuple(_clean(a) for a in spec.get("aliases") or []),
            keywords=tuple(re.compile(p) for p in spec.get("keywords") or []),
            strong=tuple(re.compile(p) for p in spec.get("strong") or []),
        )
        for slug, spec in load_data("specialties.yaml").items()
    }


def _clean(text: str) -> str:
    return " ".join(re.sub(r"[_\-]", " ", text).split()).lower()


def specialty_slugs() -> list[str]:
    return list(specialty_catalogue())


def specialty_name(slug: str) -> str | None:
    specialty = specialty_catalogue().get(slug)
    return specialty.name if specialty else None


@cache
def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for specialty in specialty_catalogue().values():
        for name in (specialty.slug, specialty.name, *specialty.aliases):
            index.setdefault(_clean(name), specialty.slug)
    return index


def canonical_specialty(text: str) -> str | None:
    """The slug a free-text specialty means ("Family medicine" -> general_practice), or None."""
    return _alias_index().get(_clean(text))


def _count(patterns: tuple[re.Pattern[str], ...], text: str) -> int:
    return sum(1 for p in patterns for m in p.finditer(text) if not is_negated(text, m.start()))


def specialty_scores(normalised: str) -> dict[str, int]:
    scores = {}
    for specialty in specialty_catalogue().values():
        score = _count(specialty.keywords, normalised) + STRONG_WEIGHT * _count(specialty.strong, normalised)
        if score:
            scores[specialty.slug] = score
    return scores


def specialty_for(normalised: str) -> str:
    """The specialty for a message reporting symptoms: a child goes to pediatrics, else the best
    keyword score (ties go to the data file's order), else general practice."""
    scores = specialty_scores(normalised)
    if scores.pop(PEDIATRICS, 0):
        return PEDIATRICS
    if not scores:
        return GENERAL
    order = specialty_slugs()
    return max(scores, key=lambda slug: (scores[slug], -order.index(slug)))


def mentioned_specialty(normalised: str) -> str | None:
    """A specialty the message names outright ("a dermatologist", "cardiology"), if any."""
    for phrase, slug in _profession_names():
        if re.search(rf"\b{re.escape(phrase)}\b", normalised):
            return slug
    return None


@cache
def _profession_names() -> list[tuple[str, str]]:
    """Names of a profession or field ("dermatologist", "cardiology", "gp"), longest first; body
    words like "skin" or "heart" are symptoms' business (specialty_for)."""
    names = [
        (phrase, slug)
        for phrase, slug in _alias_index().items()
        if phrase in ("gp", "ent", "ob/gyn", "obgyn") or phrase.endswith(("ist", "ian", "ogy", "ics", "practice", "medicine"))
    ]
    return sorted(names, key=lambda item: -len(item[0]))


def specialty_words() -> list[str]:
    words = []
    for specialty in specialty_catalogue().values():
        words += [specialty.name, *specialty.aliases]
        words += [pattern_text(p.pattern) for p in specialty.keywords + specialty.strong]
    return words


def slug_specialties(names: list[str]) -> list[str]:
    """A profile's specialties with every name that means a catalogue specialty as its slug
    (free text that matches none is kept as it is), without repeats."""
    return list(dict.fromkeys(canonical_specialty(name) or name for name in names))
