"""Ranking record entries for a free-text query ("last HbA1c", "knee x-ray"), tolerating typos.

Pure functions: the caller loads a bounded set of the patient's entries as SearchDocs. A query
word matches an entry's word exactly, as a prefix, or within one edit (two for long words);
synonyms widen it ("xray" finds "radiograph"); filler words ("my", "last", "show") drop out; among
equally good matches the newest comes first, which is what "last HbA1c" asks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

FILLER = frozenset(
    "a an the my me i of for in on at to and or with was were is are what when show find get give any all please "
    "result results test tests value values level levels about from did do does have has had last latest recent newest most previous".split()
)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "xray": ("radiograph", "radiography", "x-ray"),
    "radiograph": ("xray",),
    "a1c": ("hba1c",),
    "hba1c": ("a1c", "glycated"),
    "sugar": ("glucose",),
    "glucose": ("sugar",),
    "bp": ("blood", "pressure", "hypertension"),
    "cholesterol": ("ldl", "hdl", "lipid"),
    "kidney": ("renal", "creatinine"),
    "thyroid": ("tsh",),
    "heart": ("cardiac",),
    "scan": ("mri", "ct", "ultrasound"),
    "allergic": ("allergy",),
    "allergies": ("allergy",),
}
TITLE_WEIGHT = 2.0
TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass
class SearchDoc:
    kind: str
    id: str
    at: datetime
    title: str
    text: str
    tokens: set[str] = field(default_factory=set)
    title_tokens: set[str] = field(default_factory=set)


def tokens(text: str) -> set[str]:
    """Lower-case words; "x-ray" gives "x-ray", "xray", "x" and "ray"."""
    found: set[str] = set()
    for word in TOKEN.findall(text.lower()):
        found.add(word)
        if "-" in word:
            found.add(word.replace("-", ""))
            found.update(word.split("-"))
    return found


def query_terms(query: str) -> list[str]:
    """The words to look for, in order, without filler."""
    words = TOKEN.findall(query.lower())
    terms: list[str] = []
    for word in words:
        for term in ([word.replace("-", "")] if "-" in word else [word]):
            if term not in FILLER and term not in terms:
                terms.append(term)
    return terms


def edit_distance_within(a: str, b: str, limit: int) -> bool:
    """Whether the Levenshtein distance of a and b is at most limit (banded, stops early)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


def term_weight(term: str, words: set[str]) -> float:
    """How well one query word matches a set of words: 1 exact, 0.8 prefix, 0.7/0.5 a typo away, 0 not at all."""
    if term in words:
        return 1.0
    best = 0.0
    for word in words:
        if len(term) >= 3 and word.startswith(term):
            best = max(best, 0.8)
        elif len(term) >= 4 and edit_distance_within(term, word, 1):
            best = max(best, 0.7)
        elif len(term) >= 8 and edit_distance_within(term, word, 2):
            best = max(best, 0.5)
        if best >= 0.8:
            break
    return best


def score(doc: SearchDoc, terms: list[str]) -> float:
    total = 0.0
    matched = 0
    for term in terms:
        candidates = [term, *SYNONYMS.get(term, ())]
        best = 0.0
        for i, candidate in enumerate(candidates):
            discount = 1.0 if i == 0 else 0.8
            best = max(best, discount * max(TITLE_WEIGHT * term_weight(candidate, doc.title_tokens), term_weight(candidate, doc.tokens)))
        if best > 0:
            matched += 1
            total += best
    if matched == 0:
        return 0.0
    return total * matched / len(terms)  # entries matching every word come first


def snippet(doc: SearchDoc, terms: list[str], width: int = 200) -> str:
    text = doc.text or doc.title
    lowered = text.lower()
    positions = [lowered.find(t) for t in terms if lowered.find(t) >= 0]
    start = max(0, min(positions) - 40) if positions else 0
    piece = re.sub(r"\s+", " ", text[start : start + width]).strip()
    return ("…" if start > 0 else "") + piece


def rank(docs: list[SearchDoc], terms: list[str], limit: int) -> list[tuple[SearchDoc, float]]:
    """The best `limit` entries, best first; newer first among equals."""
    for doc in docs:
        doc.tokens = doc.tokens or tokens(doc.text)
        doc.title_tokens = doc.title_tokens or tokens(doc.title)
    scored = [(doc, round(score(doc, terms), 3)) for doc in docs] if terms else []
    scored = [pair for pair in scored if pair[1] > 0]
    scored.sort(key=lambda pair: (pair[1], pair[0].at), reverse=True)
    return scored[:limit]
