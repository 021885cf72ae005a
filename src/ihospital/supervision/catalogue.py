"""The catalogue of supervision rules (互联网医疗监管规则), as data.

``data/rules.csv`` lists every machine-checkable rule of DOMAIN.md (R01–R20) and the alert rules
derived from them (``R13.1`` …; ``P01`` is a platform rule of booking fairness). Each rule has its
stage (事前 ``before``, 事中 ``during``, 事后 ``after``), aspect (医疗机构, 执业人员, 诊疗, 护理,
处方), severity, mode (``block``: the action is refused inside the service call; ``alert``: an
alert is opened after the event), whether the regulations make it mandatory, how a blocking rule
is raised today (``RuleViolation``, a prescription check ``finding``, or by ``design``), how an
alert rule is checked (``alert``: the platform opens alerts, and a test makes each fire and one
keeps it silent; ``design``: what it forbids cannot happen, so nothing is left to alert on;
``sub_rules``: its sub-rules ``Rxx.n`` carry the checks), the modules that enforce it, the
source regulation, its description in Chinese and English and its
threshold parameters with defaults and bounds (``name=default[min..max]``, whole numbers), and
``check_note``: why an alert rule raises no alert of its own (required then).

The file is read once and checked as it is read: a malformed row stops the start-up.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

RULES_FILE = Path(__file__).resolve().parent / "data" / "rules.csv"
STAGES = ("before", "during", "after")
ASPECTS = ("institution", "practitioner", "diagnosis_treatment", "nursing", "prescription")
SEVERITIES = ("high", "medium", "low")
MODES = ("block", "alert")
RAISED_AS = ("RuleViolation", "finding", "design")
ALERT_CHECKS = ("alert", "design", "sub_rules")
STAGE_MESSAGES = {"before": "Before (事前)", "during": "During (事中)", "after": "After (事后)"}
ASPECT_MESSAGES = {
    "institution": "Institution (医疗机构)",
    "practitioner": "Practitioner (执业人员)",
    "diagnosis_treatment": "Diagnosis and treatment (诊疗)",
    "nursing": "Nursing (护理)",
    "prescription": "Prescription (处方)",
}
SEVERITY_MESSAGES = {"high": "High", "medium": "Medium", "low": "Low"}
MODE_MESSAGES = {"block": "Blocks the action", "alert": "Raises an alert"}
ID_PATTERN = re.compile(r"^(R\d\d(\.\d)?|P\d\d)$")
PARAMETER_PATTERN = re.compile(r"^([a-z_]{1,40})=(\d+)\[(\d+)\.\.(\d+)\]$")


@dataclass(frozen=True)
class Parameter:
    """A threshold of a rule: its default and the range a regulator may set it in."""

    name: str
    default: int
    minimum: int
    maximum: int


@dataclass(frozen=True)
class Rule:
    id: str
    basis: str
    stage: str
    aspect: str
    severity: str
    mode: str
    mandatory: bool
    raised_as: tuple[str, ...]
    enforced_in: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    source: str
    description_zh: str
    description_en: str
    check_note: str = ""

    def description(self, language: str) -> str:
        return self.description_en if language == "en" else self.description_zh

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def switchable(self) -> bool:
        """Whether an institution may switch the rule off: only alert rules the regulations
        do not make mandatory."""
        return self.mode == "alert" and not self.mandatory


def _parameters(text: str, where: str) -> tuple[Parameter, ...]:
    found = []
    for part in filter(None, text.split(";")):
        match = PARAMETER_PATTERN.match(part.strip())
        if match is None:
            raise ValueError(f"{where}: parameter {part!r} is not name=default[min..max]")
        name, default, low, high = match[1], *map(int, match.groups()[1:])
        if not low <= default <= high:
            raise ValueError(f"{where}: the default of {name} lies outside its range")
        found.append(Parameter(name, default, low, high))
    return tuple(found)


def _raised_as_valid(row: dict[str, str]) -> bool:
    """A blocking rule is raised one or more known ways; an alert rule is checked one known way,
    with a note unless it opens alerts itself."""
    raised = row["raised_as"].split()
    if row["mode"] == "block":
        return bool(raised) and set(raised) <= set(RAISED_AS)
    return (
        len(raised) == 1
        and raised[0] in ALERT_CHECKS
        and (raised[0] == "alert") != bool(row.get("check_note"))
    )


def _rule(row: dict[str, str], line: int) -> Rule:
    where = f"{RULES_FILE.name} line {line}"
    checks = {
        "id": ID_PATTERN.match(row["id"]) is not None,
        "stage": row["stage"] in STAGES,
        "aspect": row["aspect"] in ASPECTS,
        "severity": row["severity"] in SEVERITIES,
        "mode": row["mode"] in MODES,
        "mandatory": row["mandatory"] in ("yes", "no"),
        "raised_as": _raised_as_valid(row),
        "description": bool(row["description_zh"] and row["description_en"] and row["source"]),
    }
    wrong = [name for name, ok in checks.items() if not ok]
    if wrong:
        raise ValueError(f"{where}: {', '.join(wrong)} not valid")
    return Rule(
        id=row["id"],
        basis=row["basis"],
        stage=row["stage"],
        aspect=row["aspect"],
        severity=row["severity"],
        mode=row["mode"],
        mandatory=row["mandatory"] == "yes",
        raised_as=tuple(row["raised_as"].split()),
        enforced_in=tuple(row["enforced_in"].split()),
        parameters=_parameters(row["parameters"], where),
        source=row["source"],
        description_zh=row["description_zh"],
        description_en=row["description_en"],
        check_note=row.get("check_note", ""),
    )


@cache
def rules() -> tuple[Rule, ...]:
    """Every rule, in the catalogue's order (checked once)."""
    with RULES_FILE.open(encoding="utf-8", newline="") as handle:
        found = tuple(_rule(row, line) for line, row in enumerate(csv.DictReader(handle), start=2))
    ids = [rule.id for rule in found]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{RULES_FILE.name} names a rule twice")
    return found


def rules_by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in rules()}
