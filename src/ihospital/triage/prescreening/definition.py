"""What a pre-screening questionnaire says, as data the admins write (no code): its questions with
their answer kinds and points, and the risk levels the total score leads to.

A definition has a title, optionally an introduction, and its questions. Question kinds:
``yes_no`` (``points_yes`` when the answer is yes), ``single`` and ``multiple`` (each option has its
points; a multiple answer adds them up), and ``number`` (a measurement such as a temperature
between ``minimum`` and ``maximum``; each band gives its points when ``from <= value < to``).
Levels are ordered by ``min_score``, the first at 0; a submission is at the highest level its
score reaches, and a level with ``alert`` raises an alert for the command centre.
:func:`score_answers` checks the answers against the questions and scores them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from ihospital.core.i18n import current_language
from ihospital.core.schemas import Schema
from ihospital.directory.validation import plain_text
from ihospital.errors import Unprocessable

SLUG = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
Points = Annotated[int, Field(ge=0, le=100)]
Line = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(plain_text)]

SLUG_MESSAGE = "Use lower-case letters, digits and _ (starting with a letter), at most 32."
DUPLICATE_QUESTION_MESSAGE = "Each question needs an id of its own."
OPTIONS_MESSAGE = "A choice question needs at least two options, each with an id of its own."
RANGE_MESSAGE = "A number question needs a minimum below its maximum."
LEVELS_MESSAGE = (
    "Give the levels in order of min_score, the first at 0, each level once (low, medium, high)."
)
ANSWER_REQUIRED_MESSAGE = "Answer the question: {question}"
ANSWER_YES_NO_MESSAGE = "Answer yes or no: {question}"
ANSWER_CHOICE_MESSAGE = "Choose one of the given answers: {question}"
ANSWER_NUMBER_MESSAGE = "Enter a number for: {question}"
ANSWER_RANGE_MESSAGE = "{question}: enter a value from {minimum} to {maximum} {unit}."
ANSWER_UNKNOWN_MESSAGE = "{id} is not a question of this questionnaire."


def _slug(value: str) -> str:
    if not SLUG.fullmatch(value):
        raise ValueError(SLUG_MESSAGE)
    return value


Slug = Annotated[str, AfterValidator(_slug)]


class Words(Schema):
    """A text in both languages of the platform."""

    zh: Line
    en: Line

    def shown(self) -> str:
        return self.en if current_language.get() == "en" else self.zh


class Option(Schema):
    id: Slug
    label: Words
    points: Points = 0


class Band(Schema):
    """``points`` for a number from ``from_`` (included) up to ``to`` (excluded); either end may
    be open."""

    from_: Decimal | None = Field(default=None, alias="from")
    to: Decimal | None = None
    points: Points


class Question(Schema):
    id: Slug
    kind: Literal["yes_no", "single", "multiple", "number"]
    label: Words
    required: bool = True
    points_yes: Points = 0
    options: list[Option] = Field(default_factory=list, max_length=20)
    unit: Annotated[str, Field(max_length=8)] = ""
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    bands: list[Band] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _complete(self) -> Question:
        if self.kind in ("single", "multiple"):
            ids = {option.id for option in self.options}
            if len(self.options) < 2 or len(ids) < len(self.options):
                raise ValueError(OPTIONS_MESSAGE)
        if self.kind == "number" and (
            self.minimum is None or self.maximum is None or self.minimum >= self.maximum
        ):
            raise ValueError(RANGE_MESSAGE)
        return self


class Level(Schema):
    level: Literal["low", "medium", "high"]
    min_score: Annotated[int, Field(ge=0, le=10_000)]
    instruction: Words
    alert: bool = False
    fever_clinics: bool = False  # list the nearest fever clinics with the instruction


class Definition(Schema):
    title: Words
    intro: Words | None = None  # shown to the patient above the questions
    questions: list[Question] = Field(min_length=1, max_length=30)
    levels: list[Level] = Field(min_length=1, max_length=3)

    @model_validator(mode="after")
    def _consistent(self) -> Definition:
        if len({question.id for question in self.questions}) < len(self.questions):
            raise ValueError(DUPLICATE_QUESTION_MESSAGE)
        scores = [level.min_score for level in self.levels]
        names = [level.level for level in self.levels]
        if scores[0] != 0 or scores != sorted(set(scores)) or len(set(names)) < len(names):
            raise ValueError(LEVELS_MESSAGE)
        return self

    def level_of(self, score: int) -> Level:
        return [level for level in self.levels if level.min_score <= score][-1]


@dataclass(frozen=True)
class Scored:
    answers: dict[str, Any]
    score: int
    level: Level


def _refuse(question: Question, message: str, **fields: Any) -> Unprocessable:
    return Unprocessable(
        "prescreening.answer_invalid",
        message,
        field=f"answers.{question.id}",
        question=question.label.shown(),
        **fields,
    )


def _number(question: Question, value: Any) -> tuple[Decimal, int]:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _refuse(question, ANSWER_NUMBER_MESSAGE)
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise _refuse(question, ANSWER_NUMBER_MESSAGE) from None
    assert question.minimum is not None and question.maximum is not None  # checked when written
    if not number.is_finite() or not question.minimum <= number <= question.maximum:
        raise _refuse(
            question,
            ANSWER_RANGE_MESSAGE,
            minimum=question.minimum,
            maximum=question.maximum,
            unit=question.unit,
        )
    points = sum(
        band.points
        for band in question.bands
        if (band.from_ is None or band.from_ <= number) and (band.to is None or number < band.to)
    )
    return number, points


def _answer(question: Question, value: Any) -> tuple[Any, int]:
    """The checked answer in its stored form and the points it gives."""
    if question.kind == "yes_no":
        if not isinstance(value, bool):
            raise _refuse(question, ANSWER_YES_NO_MESSAGE)
        return value, question.points_yes if value else 0
    if question.kind == "number":
        number, points = _number(question, value)
        return str(number), points
    options = {option.id: option.points for option in question.options}
    chosen = [value] if question.kind == "single" else value
    if (
        not isinstance(chosen, list)
        or not all(isinstance(item, str) and item in options for item in chosen)
        or len(set(chosen)) < len(chosen)
        or (question.kind == "single" and len(chosen) != 1)
    ):
        raise _refuse(question, ANSWER_CHOICE_MESSAGE)
    return value, sum(options[item] for item in chosen)


def score_answers(definition: Definition, answers: dict[str, Any]) -> Scored:
    """Check ``answers`` (question id → answer) and score them; the first bad answer is refused
    with a problem naming its question."""
    questions = {question.id: question for question in definition.questions}
    for question_id in answers:
        if question_id not in questions:
            raise Unprocessable(
                "prescreening.answer_unknown",
                ANSWER_UNKNOWN_MESSAGE,
                field=f"answers.{question_id}",
                id=question_id,
            )
    kept: dict[str, Any] = {}
    score = 0
    for question in definition.questions:
        value = answers.get(question.id)
        if value is None or value == [] or value == "":
            if question.required:
                raise _refuse(question, ANSWER_REQUIRED_MESSAGE)
            continue
        kept[question.id], points = _answer(question, value)
        score += points
    return Scored(answers=kept, score=score, level=definition.level_of(score))
