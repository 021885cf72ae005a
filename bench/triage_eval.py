"""Smart triage: accuracy on the labelled cases and time per query.

Runs every case of ``tests/data/triage_cases.csv`` (text, age, sex, the expected department and,
for an emergency, the expected red flag) through :func:`ihospital.triage.engine.assess` and prints
top-1 and top-3 department accuracy, the recall of each expected department, red-flag recall, and
the cases it got wrong. Then it times the engine: each case ``--rounds`` times, p50 and p99 per
query, by the wall clock and by the thread's CPU time. The floor, measured in the same run on the
same texts, is the jieba segmentation of the text alone with the same tokenizer (the least any
reading of the words costs).

Targets: top-1 ≥ 85 %, top-3 ≥ 95 %, red-flag recall 100 %, p99 under 20 ms per query.

Run: ``python bench/triage_eval.py [--rounds R] [--cases FILE]``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ihospital.triage.engine import Assessment, Patient, assess
from ihospital.triage.knowledge import Knowledge, load_knowledge

CASES = Path(__file__).resolve().parents[1] / "tests" / "data" / "triage_cases.csv"
TARGETS = {"top1": 0.85, "top3": 0.95, "red_flag_recall": 1.0, "p99_ms": 20.0}


@dataclass(frozen=True)
class Case:
    text: str
    patient: Patient
    expected: str
    red_flag: str


@dataclass
class Evaluation:
    cases: int = 0
    top1: int = 0
    top3: int = 0
    red_flags: int = 0
    red_flags_found: int = 0
    false_red_flags: list[str] = field(default_factory=list)
    by_department: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[str] = field(default_factory=list)

    @property
    def top1_share(self) -> float:
        return self.top1 / self.cases

    @property
    def top3_share(self) -> float:
        return self.top3 / self.cases

    @property
    def red_flag_recall(self) -> float:
        return self.red_flags_found / self.red_flags if self.red_flags else 1.0


def load_cases(path: Path = CASES) -> list[Case]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Case(
                text=row["text"],
                patient=Patient(
                    age_years=int(row["age"]) if row["age"] else None, sex=row["sex"] or None
                ),
                expected=row["expected"],
                red_flag=row["red_flag"],
            )
            for row in csv.DictReader(handle)
        ]


def score_case(evaluation: Evaluation, case: Case, assessment: Assessment) -> None:
    codes = [department.code for department in assessment.departments]
    flags = [flag.rule["id"] for flag in assessment.red_flags]
    evaluation.cases += 1
    counts = evaluation.by_department[case.expected]
    counts[1] += 1
    if codes[:1] == [case.expected]:
        evaluation.top1 += 1
        counts[0] += 1
    else:
        evaluation.misses.append(f"{case.text!r}: expected {case.expected}, got {codes[:3]}")
    if case.expected in codes[:3]:
        evaluation.top3 += 1
    if case.red_flag:
        evaluation.red_flags += 1
        if case.red_flag in flags:
            evaluation.red_flags_found += 1
        else:
            evaluation.misses.append(f"{case.text!r}: red flag {case.red_flag} missed ({flags})")
    elif flags:
        evaluation.false_red_flags.append(f"{case.text!r}: {flags}")


def evaluate(cases: list[Case], knowledge: Knowledge) -> Evaluation:
    evaluation = Evaluation()
    for case in cases:
        score_case(evaluation, case, assess(case.text, case.patient, knowledge))
    return evaluation


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _timed(samples: dict[str, list[float]], name: str, call, *args, **kwargs) -> None:
    """Wall-clock and CPU (this thread's) milliseconds of one call: on a shared machine the
    wall clock's tail is mostly the scheduler, the CPU time is the query's own cost."""
    wall, cpu = time.perf_counter(), time.thread_time()
    call(*args, **kwargs)
    samples[name].append((time.perf_counter() - wall) * 1000)
    samples[f"{name} cpu"].append((time.thread_time() - cpu) * 1000)


def timings(cases: list[Case], knowledge: Knowledge, rounds: int) -> dict[str, list[float]]:
    """Milliseconds per query: the engine, and the floor (segmentation alone)."""
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for case in cases:
            _timed(samples, "floor", knowledge.tokenizer.lcut, case.text, HMM=False)
            _timed(samples, "engine", assess, case.text, case.patient, knowledge)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--cases", type=Path, default=CASES)
    args = parser.parse_args()
    started = time.perf_counter()
    knowledge = load_knowledge()
    print(f"knowledge and segmenter loaded in {time.perf_counter() - started:.2f} s")
    cases = load_cases(args.cases)
    evaluation = evaluate(cases, knowledge)
    print(f"cases: {evaluation.cases}, with a red flag: {evaluation.red_flags}")
    print(f"top-1 accuracy: {evaluation.top1_share:.1%} (target ≥ {TARGETS['top1']:.0%})")
    print(f"top-3 accuracy: {evaluation.top3_share:.1%} (target ≥ {TARGETS['top3']:.0%})")
    print(f"red-flag recall: {evaluation.red_flag_recall:.1%} (target 100%)")
    print(f"red flags on cases without one: {len(evaluation.false_red_flags)}")
    print("recall per department (top-1):")
    for code, (hits, total) in sorted(evaluation.by_department.items()):
        name = knowledge.department_name(code, "zh-CN")
        print(f"  {code:6} {name:12} {hits:3}/{total:<3} {hits / total:6.1%}")
    for line in evaluation.misses + evaluation.false_red_flags:
        print(f"  miss: {line}")
    samples = timings(cases, knowledge, args.rounds)
    for name, label in (("floor", "floor: jieba segmentation"), ("engine", "triage engine")):
        p50, p99 = _percentiles(samples[name])
        cpu50, cpu99 = _percentiles(samples[f"{name} cpu"])
        print(
            f"{label}: wall p50 {p50:.3f} ms, p99 {p99:.3f} ms; "
            f"CPU p50 {cpu50:.3f} ms, p99 {cpu99:.3f} ms per query"
        )
    engine_p99 = _percentiles(samples["engine"])[1]
    verdict = "met" if engine_p99 < TARGETS["p99_ms"] else "not met"
    print(f"p99 target: under {TARGETS['p99_ms']:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
