"""The labelled cases of tests/data/triage_cases.csv against the targets of the issue (accuracy,
not time: the time per query is measured by bench/triage_eval.py, which scores them the same)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from ihospital.triage.knowledge import load_knowledge

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
triage_eval = importlib.import_module("triage_eval")


def test_the_labelled_cases_meet_the_accuracy_targets():
    cases = triage_eval.load_cases()
    assert len(cases) >= 300
    assert sum(1 for case in cases if case.red_flag) >= 40
    evaluation = triage_eval.evaluate(cases, load_knowledge())
    assert evaluation.top1_share >= triage_eval.TARGETS["top1"], evaluation.misses
    assert evaluation.top3_share >= triage_eval.TARGETS["top3"], evaluation.misses
    assert evaluation.red_flag_recall == 1.0, evaluation.misses
    assert evaluation.false_red_flags == []


def test_the_cases_cover_every_major_department():
    expected = {case.expected for case in triage_eval.load_cases()}
    major = {"02", "03.01", "03.02", "03.03", "03.04", "03.07", "04.01", "04.03", "04.04"}
    assert major | {"05.01", "05.02", "07", "08", "10", "11", "12", "13", "15", "20"} <= expected
