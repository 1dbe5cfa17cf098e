"""Evaluate the assistant's understanding on the held-out set (bench/data/assistant_eval.yaml).

Prints intent accuracy (ours, and a bag-of-words feed-forward network trained on the same
intents file, the usual intent chatbot), red-flag recall, the false-emergency rate on mild
symptoms, specialty accuracy, the misses, and classification cost on one process (p99 per
message, messages/s).

    python bench/assistant_eval.py [--misses]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engage.assistant.intents import training_examples
from engage.assistant.understanding import Understander

EVAL_FILE = Path(__file__).resolve().parent / "data" / "assistant_eval.yaml"
EMERGENCY_NUMBER = "112"


def load_eval() -> dict:
    with open(EVAL_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def bag_of_words_network() -> Pipeline:
    """The usual intent chatbot: binary bag of words into a small feed-forward network."""
    return Pipeline([
        ("bag", CountVectorizer(binary=True, token_pattern=r"[a-z0-9']+")),
        ("network", MLPClassifier(hidden_layer_sizes=(64,), max_iter=2000, random_state=0)),
    ])


@dataclass
class Report:
    intent_accuracy: float
    baseline_intent_accuracy: float
    red_flag_recall: float
    red_flag_code_accuracy: float
    false_emergency_rate: float
    specialty_accuracy: float
    train_seconds: float
    train_cpu_seconds: float
    p99_ms: float
    messages_per_second: float
    misses: list[str]


def evaluate(understander: Understander | None = None, timing_rounds: int = 3) -> Report:
    data = load_eval()
    started, started_cpu = time.perf_counter(), time.process_time()
    understander = understander or Understander()
    # CPU time beside wall time: on a shared machine the wall time mostly measures the others.
    train_seconds, train_cpu_seconds = time.perf_counter() - started, time.process_time() - started_cpu
    misses: list[str] = []

    intent_cases = [(text, intent) for intent, texts in data["intents"].items() for text in texts]
    correct = 0
    for text, expected in intent_cases:
        got = understander.understand(text, EMERGENCY_NUMBER).intent
        correct += got == expected
        if got != expected:
            misses.append(f"intent   {expected:>22} got {got:<22} {text!r}")

    baseline = bag_of_words_network()
    examples = training_examples()
    baseline.fit([understander.normalise(t) for t, _ in examples], [i for _, i in examples])
    predicted = baseline.predict([understander.normalise(t) for t, _ in intent_cases])
    baseline_correct = sum(p == e for p, (_, e) in zip(predicted, intent_cases, strict=True))

    flagged = exact = 0
    flag_cases = [(text, code) for code, texts in data["red_flags"].items() for text in texts]
    for text, code in flag_cases:
        result = understander.understand(text, EMERGENCY_NUMBER)
        flagged += result.triage.level == "emergency"
        exact += code in result.red_flags
        if result.triage.level != "emergency":
            misses.append(f"red flag {code:>22} missed {text!r}")

    false_emergencies = 0
    for text in data["mild"]:
        result = understander.understand(text, EMERGENCY_NUMBER)
        if result.triage.level == "emergency":
            false_emergencies += 1
            misses.append(f"mild     {','.join(result.red_flags):>22} fired {text!r}")

    specialty_correct = 0
    for case in data["specialty"]:
        got = understander.understand(case["text"], EMERGENCY_NUMBER).specialty
        specialty_correct += got == case["specialty"]
        if got != case["specialty"]:
            misses.append(f"specialty {case['specialty']:>21} got {got!s:<22} {case['text']!r}")

    every_text = [t for t, _ in intent_cases] + [t for t, _ in flag_cases] + data["mild"] + [c["text"] for c in data["specialty"]]
    durations = []
    for _ in range(timing_rounds):
        for text in every_text:
            began = time.perf_counter()
            understander.understand(text, EMERGENCY_NUMBER)
            durations.append(time.perf_counter() - began)
    durations.sort()
    p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
    return Report(
        intent_accuracy=correct / len(intent_cases),
        baseline_intent_accuracy=baseline_correct / len(intent_cases),
        red_flag_recall=flagged / len(flag_cases),
        red_flag_code_accuracy=exact / len(flag_cases),
        false_emergency_rate=false_emergencies / len(data["mild"]),
        specialty_accuracy=specialty_correct / len(data["specialty"]),
        train_seconds=train_seconds,
        train_cpu_seconds=train_cpu_seconds,
        p99_ms=p99 * 1000,
        messages_per_second=len(durations) / sum(durations),
        misses=misses,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every held-out message answered wrongly")
    args = parser.parse_args()
    data = load_eval()
    report = evaluate()
    print(f"held-out set: {sum(len(v) for v in data['intents'].values())} intent phrasings, "
          f"{sum(len(v) for v in data['red_flags'].values())} red-flag messages, {len(data['mild'])} mild, "
          f"{len(data['specialty'])} specialty")
    print(f"intent accuracy            {report.intent_accuracy:7.1%}   (target >= 95%)")
    print(f"  bag-of-words network     {report.baseline_intent_accuracy:7.1%}   (MLPClassifier on binary bag of words, same training data)")
    print(f"red-flag recall            {report.red_flag_recall:7.1%}   (target 100%; right rule named: {report.red_flag_code_accuracy:.1%})")
    print(f"false emergencies (mild)   {report.false_emergency_rate:7.1%}   (target <= 5%)")
    print(f"specialty accuracy         {report.specialty_accuracy:7.1%}   (target >= 85%)")
    print(f"training at start          {report.train_seconds:7.2f} s   ({report.train_cpu_seconds:.2f} s of CPU)")
    print(f"classification p99         {report.p99_ms:7.2f} ms per message; {report.messages_per_second:,.0f} messages/s on one process")
    if args.misses:
        for miss in report.misses:
            print(" ", miss)
    elif report.misses:
        print(f"({len(report.misses)} misses; --misses lists them)")


if __name__ == "__main__":
    main()
