"""Normalising a patient's message before rules and the model read it.

Lower case, one spelling of contractions ("cant" -> "can't"), chat shorthand spelled out, and
likely typos corrected to words the assistant's data knows ("pian" -> "pain"). The rules are
regular expressions over whole words, so a typo in a red flag would otherwise go unseen.
Correction is deliberately narrow: one edit (a substitution, insertion, deletion or swap of
neighbours), only for words of five letters or more (four for a swap), only towards a word
of the same data, only for words that are not English words already (pyspellchecker's
frequency list), and only when one candidate is clearly the most common.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable

CONTRACTIONS = {
    "cant": "can't", "dont": "don't", "doesnt": "doesn't", "didnt": "didn't", "wont": "won't", "isnt": "isn't",
    "arent": "aren't", "wasnt": "wasn't", "werent": "weren't", "havent": "haven't", "hasnt": "hasn't",
    "couldnt": "couldn't", "shouldnt": "shouldn't", "wouldnt": "wouldn't", "im": "i'm", "ive": "i've",
    "hes": "he's", "shes": "she's", "theyre": "they're", "youre": "you're", "thats": "that's", "whats": "what's",
    "whens": "when's", "wheres": "where's", "ill": "i'll",
}
SHORTHAND = {
    "u": "you", "r": "are", "ur": "your", "pls": "please", "plz": "please", "appt": "appointment", "appts": "appointments",
    "dr": "doctor", "doc": "doctor", "thx": "thanks", "thanx": "thanks", "thnx": "thanks", "ty": "thanks", "tmrw": "tomorrow", "tmr": "tomorrow",
    "2moro": "tomorrow", "b4": "before", "bc": "because", "cuz": "because", "w/": "with", "abt": "about",
    "wk": "week", "wks": "weeks", "hrs": "hours", "mins": "minutes", "yr": "year", "yrs": "years", "meds": "meds",
}
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")
_WORD = re.compile(r"[a-z]{3,}")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})


_REGEX_ESCAPE = re.compile(r"\\[a-zA-Z]")


def pattern_text(pattern: str) -> str:
    """A regular expression's literal words ("\\bchest pain" -> " chest pain"), for vocabularies."""
    return _REGEX_ESCAPE.sub(" ", pattern)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class Speller:
    """Corrects words one edit away from a known word (a symmetric-delete index, no scans)."""

    def __init__(self, texts: Iterable[str], english: Collection[str] = ()) -> None:
        self.english = english  # real words that are never "corrected" ("years" is not "ears")
        self.counts: Counter[str] = Counter()
        for text in texts:
            self.counts.update(_WORD.findall(text.lower()))
        self._by_delete: dict[str, list[str]] = {}
        for word in self.counts:
            for key in _deletes(word) | {word}:
                self._by_delete.setdefault(key, []).append(word)

    def correct(self, word: str) -> str:
        if len(word) < 4 or word in self.counts or word in self.english or not word.isalpha():
            return word
        candidates = set()
        for key in _deletes(word) | {word}:
            candidates.update(self._by_delete.get(key, ()))
        kinds = {c: _edit_kind(word, c) for c in candidates}
        # Short words only for a swap or a dropped letter ("pian", "fevr"): a substitution in
        # four letters too often makes another real word.
        kinds = {c: kind for c, kind in kinds.items() if kind is not None and (len(word) >= 5 or kind in (SWAP, DROPPED))}
        if not kinds:
            return word
        # The likeliest kind of typo first (a dropped letter: "chils" is "chills" before "child").
        best_kind = min(kinds.values())
        ranked = sorted((c for c, kind in kinds.items() if kind == best_kind), key=lambda c: (-self.counts[c], c))
        if len(ranked) > 1 and self.counts[ranked[1]] * 2 > self.counts[ranked[0]]:
            return word  # two likely readings: leave it
        return ranked[0]


SWAP, DROPPED, DOUBLED, SUBSTITUTED = range(4)  # kinds of one-edit typos, likeliest first


def _edit_kind(typed: str, word: str) -> int | None:
    """How `typed` is one edit away from `word` (SWAP, DROPPED, ...), or None when it is not."""
    if typed == word:
        return None
    if len(typed) == len(word):
        diffs = [i for i in range(len(typed)) if typed[i] != word[i]]
        if len(diffs) == 1:
            return SUBSTITUTED
        swapped = len(diffs) == 2 and diffs[1] == diffs[0] + 1 and typed[diffs[0]] == word[diffs[1]] and typed[diffs[1]] == word[diffs[0]]
        return SWAP if swapped else None
    if abs(len(typed) - len(word)) != 1:
        return None
    short, long_ = (typed, word) if len(typed) < len(word) else (word, typed)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    if short[i:] != long_[i + 1:]:
        return None
    return DROPPED if short is typed else DOUBLED


def normalise(text: str, speller: Speller | None = None) -> str:
    """The message as the rules and the model read it: tokens separated by single spaces."""
    tokens = _TOKEN.findall(text.lower().translate(_APOSTROPHES))
    out = []
    for token in tokens:
        token = CONTRACTIONS.get(token, token)
        token = SHORTHAND.get(token, token)
        if speller is not None:
            token = speller.correct(token)
        out.append(token)
    # Rules read "can't breathe", "don't": keep apostrophes inside words, punctuation spaced out.
    return " ".join(out)
