"""Smart triage (智能导诊): from a description in everyday words to ranked departments with
their reasons, and the red flags that need emergency care first.

Pure and explainable: no database, no learned weights. The score of a department is the sum of
the weights (``department_weights.csv``) of the symptoms described and not denied; the context
rules (child, pregnancy, sex, elder, long cough) move or add departments; a red flag puts its
department first. Every department carries the symptoms and rules that put it there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ihospital.triage.knowledge import Knowledge
from ihospital.triage.reading import Finding, Reading, read_text

MAX_DEPARTMENTS = 5
GENERAL_PRACTICE = "02"
LEAD_MARGIN = 1.0
MONTHS_PER_YEAR = 12
# 孕: only a woman of an age that can carry a pregnancy is taken to be pregnant
PREGNANCY_AGE_MONTHS = (10 * MONTHS_PER_YEAR, 60 * MONTHS_PER_YEAR)


@dataclass(frozen=True)
class Patient:
    """What the request says about the patient, besides the text."""

    age_years: int | None = None
    sex: str | None = None
    pregnant: bool | None = None


@dataclass
class RankedDepartment:
    code: str
    score: float
    symptoms: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RedFlag:
    rule: dict[str, Any]
    symptoms: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    """The answer: departments best first (shares of the total score), red flags most urgent
    first, what was read (including denied symptoms) and the context applied."""

    departments: list[RankedDepartment]
    red_flags: list[RedFlag]
    findings: list[Finding]
    age_months: int | None
    pregnant: bool
    rules: list[str]

    @property
    def described(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.negated]


def _age_months(patient: Patient, reading: Reading) -> int | None:
    """An age the text states, else the request's, else the one a word implies (宝宝, 奶奶)."""
    if reading.age_months is not None:
        return reading.age_months
    if patient.age_years is not None:
        return patient.age_years * MONTHS_PER_YEAR
    return reading.person_months


def _is_pregnant(patient: Patient, reading: Reading, age_months: int | None) -> bool:
    said = patient.pregnant if patient.pregnant is not None else reading.pregnant
    if not said or patient.sex == "male":
        return False
    low, high = PREGNANCY_AGE_MONTHS
    return age_months is None or low <= age_months <= high


def _unique_described(findings: list[Finding]) -> list[Finding]:
    """The symptoms described and not denied elsewhere, each once (first words kept)."""
    denied = {finding.symptom for finding in findings if finding.negated}
    seen: dict[str, Finding] = {}
    for finding in findings:
        if not finding.negated and finding.symptom not in denied:
            seen.setdefault(finding.symptom, finding)
    return list(seen.values())


def _matches(code: str, prefix: str) -> bool:
    return code == prefix or code.startswith(f"{prefix}.")


class _Scores:
    def __init__(self) -> None:
        self.departments: dict[str, RankedDepartment] = {}

    def add(self, code: str, score: float, *, symptom: str | None = None, rule: str | None = None):
        department = self.departments.setdefault(code, RankedDepartment(code, 0.0))
        department.score += score
        if symptom and symptom not in department.symptoms:
            department.symptoms.append(symptom)
        if rule and rule not in department.rules:
            department.rules.append(rule)

    def best(self) -> float:
        return max((d.score for d in self.departments.values()), default=0.0)

    def remap(self, mapping: dict[str, str], rule: str) -> bool:
        moved = False
        for code in list(self.departments):
            prefix = max((p for p in mapping if _matches(code, p)), key=len, default=None)
            if prefix is None or mapping[prefix] == code:
                continue
            old = self.departments.pop(code)
            for symptom in old.symptoms:
                self.add(mapping[prefix], 0.0, symptom=symptom)
            self.add(mapping[prefix], old.score, rule=rule)
            moved = True
        return moved

    def lead(self, code: str, rule: str) -> None:
        current = self.departments[code].score if code in self.departments else 0.0
        self.add(code, self.best() + LEAD_MARGIN - current, rule=rule)

    def ranked(self) -> list[RankedDepartment]:
        departments = sorted(self.departments.values(), key=lambda d: (-d.score, d.code))
        total = sum(d.score for d in departments) or 1.0
        for department in departments:
            department.score = round(department.score / total, 3)
        return departments[:MAX_DEPARTMENTS]


def _duration_at_least(value: Any, when: dict[str, Any], facts: dict[str, Any], _: _Scores) -> bool:
    return (facts["symptoms"].get(when.get("symptom")) or 0) >= value


# One check per condition a context rule may state: (value, the rule's conditions, facts, scores).
_CHECKS: dict[str, Callable[[Any, dict[str, Any], dict[str, Any], _Scores], bool]] = {
    "age_months_below": lambda v, _, f, __: f["age_months"] is not None and f["age_months"] < v,
    "age_months_at_least": lambda v, _, f, __: f["age_months"] is not None and f["age_months"] >= v,
    "sex": lambda v, _, f, __: f["sex"] == v,
    "pregnant": lambda v, _, f, __: f["pregnant"] == v,
    "has_department_prefix": lambda v, _, __, s: any(_matches(c, v) for c in s.departments),
    "symptom": lambda v, _, f, __: v in f["symptoms"],
    "duration_days_at_least": _duration_at_least,
}


def _holds(when: dict[str, Any], facts: dict[str, Any], scores: _Scores) -> bool:
    return all(_CHECKS[name](value, when, facts, scores) for name, value in when.items())


def _apply_context(
    knowledge: Knowledge, scores: _Scores, facts: dict[str, Any], applied: list[str]
) -> None:
    for rule in knowledge.context_rules:
        if not _holds(rule["when"], facts, scores):
            continue
        changed = bool(rule.get("remap")) and scores.remap(rule["remap"], rule["id"])
        for prefix in rule.get("exclude", ()):
            for code in [c for c in scores.departments if _matches(c, prefix)]:
                del scores.departments[code]
                changed = True
        for code, share in rule.get("boost", {}).items():
            scores.add(code, share * scores.best(), rule=rule["id"])
            changed = True
        if rule.get("lead"):
            scores.lead(rule["lead"], rule["id"])
            changed = True
        if changed:
            applied.append(rule["id"])


def _red_flags(knowledge: Knowledge, described: set[str], age: int | None) -> list[RedFlag]:
    flags = []
    for rule in knowledge.red_flags:
        if not described.issuperset(rule["all"]):
            continue
        hits = [symptom for symptom in rule["any"] if symptom in described]
        if rule["any"] and not hits:
            continue
        if "age_months_below" in rule and (age is None or age >= rule["age_months_below"]):
            continue
        flags.append(RedFlag(rule, tuple(rule["all"]) + tuple(hits)))
    return flags


def assess(text: str, patient: Patient, knowledge: Knowledge) -> Assessment:
    """Triage one description (see the module docstring for how it is scored)."""
    reading = read_text(text, knowledge)
    age = _age_months(patient, reading)
    pregnant = _is_pregnant(patient, reading, age)
    described = _unique_described(reading.findings)
    scores = _Scores()
    for finding in described:
        for code, weight in knowledge.weights.get(finding.symptom, ()):
            scores.add(code, weight, symptom=finding.symptom)
    if not scores.departments:
        scores.add(GENERAL_PRACTICE, 1.0, rule="no_symptom")
    facts = {
        "age_months": age,
        "sex": patient.sex,
        "pregnant": pregnant,
        "symptoms": {finding.symptom: finding.duration_days for finding in described},
    }
    applied: list[str] = []
    _apply_context(knowledge, scores, facts, applied)
    flags = _red_flags(knowledge, {finding.symptom for finding in described}, age)
    for flag in reversed(flags):
        scores.lead(flag.rule["department"], f"red_flag:{flag.rule['id']}")
    return Assessment(
        departments=scores.ranked(),
        red_flags=flags,
        findings=reading.findings,
        age_months=age,
        pregnant=pregnant,
        rules=applied,
    )
