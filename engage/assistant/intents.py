"""The intent model: word and character n-grams into a linear classifier, trained at start.

Character n-grams within words (2-5) make it robust to typos and word forms ("apointment",
"rescheduling"); word uni- and bigrams carry phrases ("cancel it", "talk to"). One-vs-rest logistic
regression gives a calibrated-enough confidence: below MIN_CONFIDENCE the answer is `unknown`.
Training on the repository's intents file takes well under a second and is deterministic
(liblinear with a fixed random state).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from threadpoolctl import ThreadpoolController

from engage.assistant.data_files import load_data

INTENTS = (
    "greeting", "goodbye", "thanks", "book_appointment", "reschedule_appointment", "cancel_appointment",
    "list_appointments", "symptoms", "medication_question", "prescription_refill", "test_results",
    "clinic_info", "talk_to_human", "unknown",
)
MIN_CONFIDENCE = 0.2


def training_examples() -> list[tuple[str, str]]:
    """(phrase, intent) pairs of data/intents.yaml."""
    data = load_data("intents.yaml")
    unknown = set(data) - set(INTENTS)
    if unknown:
        raise ValueError(f"intents.yaml names unknown intents {sorted(unknown)}")
    return [(phrase, intent) for intent in INTENTS for phrase in data.get(intent) or []]


def build_pipeline() -> Pipeline:
    features = FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"[a-z0-9']+")),
    ])
    # One-vs-rest liblinear fits in a tenth of a second where a multinomial lbfgs takes seconds.
    classifier = OneVsRestClassifier(LogisticRegression(C=20.0, solver="liblinear", random_state=0))
    return Pipeline([("features", features), ("classifier", classifier)])


@dataclass(frozen=True)
class IntentGuess:
    intent: str
    confidence: float


class IntentModel:
    """Fitted once from normalised training phrases; predicts on normalised messages."""

    def __init__(self, examples: list[tuple[str, str]]) -> None:
        # One BLAS/OpenMP thread: the matrices are tiny, and on a busy machine idle worker threads
        # spinning for work cost ten times the fit itself (measured: 0.15 s of CPU with one thread,
        # 1.5-5 s with two while other processes kept both cores busy).
        self._threads = ThreadpoolController()
        self.pipeline = build_pipeline()
        with self._threads.limit(limits=1):
            self.pipeline.fit([text for text, _ in examples], [intent for _, intent in examples])
        self.classes = list(self.pipeline.classes_)
        # Prediction reads the fitted parts directly: scikit-learn's per-call validation costs
        # ten times the arithmetic for one short message (see probabilities()).
        self._features: list[tuple[Callable[[str], list[str]], dict[str, int], np.ndarray, int]] = []
        offset = 0
        for _, vectorizer in self.pipeline.named_steps["features"].transformer_list:
            self._features.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_, offset))
            offset += len(vectorizer.vocabulary_)
        estimators = self.pipeline.named_steps["classifier"].estimators_
        self._coef = np.vstack([e.coef_[0] for e in estimators]).T  # features x intents
        self._intercept = np.array([e.intercept_[0] for e in estimators])

    def predict(self, normalised: str) -> IntentGuess:
        return self.predict_many([normalised])[0]

    def scores(self, normalised: str) -> np.ndarray:
        """The decision function for one message: TfidfVectorizer's sublinear tf-idf, each
        vectorizer's part L2-normalised, times the stacked one-vs-rest coefficients."""
        indices: list[int] = []
        values: list[float] = []
        for analyzer, vocabulary, idf, offset in self._features:
            counts = Counter(term for term in analyzer(normalised) if term in vocabulary)
            if not counts:
                continue
            columns = [vocabulary[term] for term in counts]
            weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=float))) * idf[columns]
            weights /= np.linalg.norm(weights)
            indices += [offset + column for column in columns]
            values += weights.tolist()
        if not indices:
            return self._intercept.copy()
        return np.asarray(values) @ self._coef[indices] + self._intercept

    def probabilities(self, normalised: list[str]) -> np.ndarray:
        """One-vs-rest probabilities, normalised per message (what the pipeline's predict_proba gives)."""
        with self._threads.limit(limits=1):
            scores = np.vstack([self.scores(text) for text in normalised])
        probabilities = 1.0 / (1.0 + np.exp(-scores))
        return probabilities / probabilities.sum(axis=1, keepdims=True)

    def predict_many(self, normalised: list[str]) -> list[IntentGuess]:
        probabilities = self.probabilities(normalised)
        guesses = []
        for row in probabilities:
            best = int(np.argmax(row))
            confidence = float(row[best])
            intent = self.classes[best] if confidence >= MIN_CONFIDENCE else "unknown"
            guesses.append(IntentGuess(intent, round(confidence, 4)))
        return guesses


@cache
def intent_words() -> list[str]:
    return [text for text, _ in training_examples()]
