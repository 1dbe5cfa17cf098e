"""The held-out evaluation (bench/assistant_eval.py) meets the issue's targets, and beats the
bag-of-words feed-forward network on intents."""

from __future__ import annotations

from bench.assistant_eval import evaluate
from engage.assistant.understanding import understander


def test_held_out_targets():
    report = evaluate(understander(), timing_rounds=1)
    assert report.red_flag_recall == 1.0, report.misses
    assert report.intent_accuracy >= 0.95, report.misses
    assert report.false_emergency_rate <= 0.05, report.misses
    assert report.specialty_accuracy >= 0.85, report.misses
    assert report.intent_accuracy > report.baseline_intent_accuracy
