"""API shapes of smart triage, in the reader's language (terms, department names and red-flag
instructions come from the data files, which carry both languages)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ihospital.core.i18n import current_language, gettext
from ihospital.core.schemas import Schema
from ihospital.triage.engine import RankedDepartment
from ihospital.triage.knowledge import Knowledge
from ihospital.triage.reading import Finding
from ihospital.triage.service import TriageAnswer

MAX_TEXT_LENGTH = 500
MAX_AGE = 120
LONG_DURATION_DAYS = 14
RULE_MESSAGES = {
    "no_symptom": "No particular symptom was recognised: a general practitioner can help.",
}
FIRST_DEPARTMENT_MESSAGE = (
    "Suggested first: {department}. Book a visit or consult online; if it gets worse or new "
    "symptoms appear, see a doctor in person."
)
LONG_DURATION_MESSAGE = "Symptoms that have lasted two weeks or more should be seen in person."
NOTHING_FOUND_MESSAGE = (
    "No particular symptom was recognised. A general practitioner can help, or describe what you "
    "feel in other words (where it is, what it feels like, since when)."
)


class TriageAsk(Schema):
    """A description in everyday words (Chinese, English or both), optionally the patient's age
    in years, sex, pregnancy and the region (6-digit code) to find doctors in."""

    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]
    age: Annotated[int | None, Field(ge=0, le=MAX_AGE)] = None
    sex: Literal["male", "female"] | None = None
    pregnant: bool | None = None
    region_code: Annotated[str | None, Field(pattern=r"^[0-9]{6}$")] = None


class TriageDepartmentRead(Schema):
    code: str
    name: str
    score: float
    reasons: list[str]


class RedFlagRead(Schema):
    code: str
    title: str
    instruction: str
    call: list[str]
    symptoms: list[str]


class SymptomRead(Schema):
    code: str
    term: str
    words: str
    negated: bool
    duration_days: float | None
    duration: str | None


class TriageDoctorRead(Schema):
    id: int
    name: str
    title: str
    institution_name: str
    department_code: str
    department_name: str
    free_places: int
    online_available: bool


class TriageRead(Schema):
    """Red flags (most urgent first) come before departments: when there is one, ``emergency``
    is true and ``advice`` is its instruction."""

    emergency: bool
    red_flags: list[RedFlagRead]
    advice: str
    departments: list[TriageDepartmentRead]
    symptoms: list[SymptomRead]
    doctors: list[TriageDoctorRead]

    @classmethod
    def of(cls, answer: TriageAnswer) -> TriageRead:
        language = current_language.get()
        knowledge, assessment = answer.knowledge, answer.assessment
        flags = [
            RedFlagRead(
                code=flag.rule["id"],
                title=_localised(flag.rule, "title", language),
                instruction=_localised(flag.rule, "instruction", language),
                call=flag.rule["call"],
                symptoms=[knowledge.term(symptom, language) for symptom in flag.symptoms],
            )
            for flag in assessment.red_flags
        ]
        departments = [
            TriageDepartmentRead(
                code=department.code,
                name=knowledge.department_name(department.code, language),
                score=department.score,
                reasons=_reasons(department, assessment.described, knowledge, language),
            )
            for department in assessment.departments
        ]
        return cls(
            emergency=bool(flags),
            red_flags=flags,
            advice=flags[0].instruction if flags else _advice(answer, departments),
            departments=departments,
            symptoms=[_symptom(finding, knowledge, language) for finding in assessment.findings],
            doctors=[
                TriageDoctorRead(
                    id=suggested.doctor.id,
                    name=suggested.doctor.name,
                    title=suggested.doctor.title,
                    institution_name=suggested.doctor.institution.name,
                    department_code=suggested.department_code,
                    department_name=knowledge.department_name(suggested.department_code, language),
                    free_places=suggested.free_places,
                    online_available=suggested.doctor.online_available,
                )
                for suggested in answer.doctors
            ],
        )


def _localised(rule: dict, key: str, language: str) -> str:
    return rule[f"{key}_en"] if language == "en" else rule[f"{key}_zh"]


def _described(finding: Finding, knowledge: Knowledge, language: str) -> str:
    """头痛（“脑袋疼”，3天） / headache (“my head hurts”, 3 days)."""
    term = knowledge.term(finding.symptom, language)
    details = [f"“{finding.words}”"] if finding.words.lower() != term.lower() else []
    if finding.duration_words:
        details.append(finding.duration_words)
    if not details:
        return term
    if language == "en":
        return f"{term} ({', '.join(details)})"
    return f"{term}（{'，'.join(details)}）"


def _reasons(
    department: RankedDepartment, described: list[Finding], knowledge: Knowledge, language: str
) -> list[str]:
    by_symptom = {finding.symptom: finding for finding in described}
    reasons = [
        _described(by_symptom[symptom], knowledge, language)
        for symptom in department.symptoms
        if symptom in by_symptom
    ]
    rules = {rule["id"]: rule for rule in (*knowledge.context_rules, *knowledge.red_flags)}
    for rule_id in department.rules:
        flag_id = rule_id.removeprefix("red_flag:")
        if rule_id in RULE_MESSAGES:
            reasons.append(gettext(RULE_MESSAGES[rule_id]))
        elif flag_id in rules and flag_id != rule_id:
            reasons.append(_localised(rules[flag_id], "title", language))
        elif rule_id in rules:
            reasons.append(_localised(rules[rule_id], "label", language))
    return reasons


def _symptom(finding: Finding, knowledge: Knowledge, language: str) -> SymptomRead:
    return SymptomRead(
        code=finding.symptom,
        term=knowledge.term(finding.symptom, language),
        words=finding.words,
        negated=finding.negated,
        duration_days=round(finding.duration_days, 2) if finding.duration_days else None,
        duration=finding.duration_words,
    )


def _advice(answer: TriageAnswer, departments: list[TriageDepartmentRead]) -> str:
    described = answer.assessment.described
    if not described:
        return gettext(NOTHING_FOUND_MESSAGE)
    advice = gettext(FIRST_DEPARTMENT_MESSAGE, department=departments[0].name)
    if any((finding.duration_days or 0) >= LONG_DURATION_DAYS for finding in described):
        advice += " " + gettext(LONG_DURATION_MESSAGE)
    return advice
