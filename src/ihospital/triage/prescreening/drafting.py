"""The questionnaire editor's document: a definition as the admin is still writing it, and the
checks that stand between it and a published version.

A :class:`DraftDocument` keeps every field as typed (text, possibly empty or wrong), so a draft
can be saved half-done over several requests. :func:`check` turns it into a
:class:`~ihospital.triage.prescreening.definition.Definition` or lists every problem by the
field it belongs to (``questions.0.bands.1.to``), the name the editor's form and the API use.
Besides what a definition itself requires, a published version must be sound for patients:
question ids used once, numeric ranges that a person can have (no 60 °C), point bands inside
the range and not overlapping, and risk levels whose score bands (``min_score`` to
``max_score``, both included) follow each other from 0 without a gap or an overlap.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError

from ihospital.core.i18n import translate
from ihospital.core.schemas import Schema
from ihospital.core.validation_messages import message_for
from ihospital.errors import Unprocessable
from ihospital.triage.prescreening.definition import Definition

Kind = Literal["yes_no", "single", "multiple", "number"]
LevelName = Literal["low", "medium", "high"]
LEVEL_ORDER = ("low", "medium", "high")
# What a person can measure in each unit; a range outside it is a typing mistake (60 °C).
UNIT_RANGES: dict[str, tuple[Decimal, Decimal]] = {
    "°C": (Decimal(30), Decimal(45)),
    "℃": (Decimal(30), Decimal(45)),
    "次/分": (Decimal(20), Decimal(250)),
    "%": (Decimal(0), Decimal(100)),
    "mmHg": (Decimal(0), Decimal(300)),
    "岁": (Decimal(0), Decimal(130)),
    "天": (Decimal(0), Decimal(365)),
}

DRAFT_DUPLICATE_KEY_MESSAGE = "Another question already uses the id {id}."
DRAFT_DUPLICATE_OPTION_MESSAGE = "Another option of this question already uses the id {id}."
DRAFT_OPTIONS_MESSAGE = "A choice question needs at least two options."
DRAFT_RANGE_MESSAGE = "The maximum must be above the minimum."
DRAFT_UNIT_RANGE_MESSAGE = "A value in {unit} must lie between {low} and {high}."
DRAFT_BAND_END_MESSAGE = "Give the lower end, the upper end or both."
DRAFT_BAND_ORDER_MESSAGE = "The upper end must be above the lower end."
DRAFT_BAND_OUTSIDE_MESSAGE = "A band must lie within the range {minimum} to {maximum}."
DRAFT_BAND_OVERLAP_MESSAGE = "This band overlaps band {other}."
DRAFT_LEVEL_TWICE_MESSAGE = "Each level may appear once, in the order low, medium, high."
DRAFT_LEVEL_START_MESSAGE = "The first level must start at score 0."
DRAFT_LEVEL_GAP_MESSAGE = "Scores {low} to {high} belong to no level."
DRAFT_LEVEL_OVERLAP_MESSAGE = "Scores {low} to {high} belong to two levels."
DRAFT_LEVEL_END_MESSAGE = "Give the highest score of this level."
DRAFT_LEVEL_LAST_MESSAGE = "Leave the highest score of the last level empty: it has no upper end."
DRAFT_LEVEL_ORDER_MESSAGE = "The highest score must not be below the lowest."
DRAFT_INVALID_MESSAGE = "The questionnaire has {count} problem(s); first, {field}: {error}"


def _as_text(value: Any) -> Any:
    """Numbers sent through the API are kept as the text the form would have sent."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_as_text), Field(max_length=300)]
Short = Annotated[str, BeforeValidator(_as_text), Field(max_length=32)]


class DraftWords(Schema):
    zh: Text = ""
    en: Text = ""


class DraftOption(Schema):
    id: Short = ""
    label: DraftWords = Field(default_factory=DraftWords)
    points: Short = ""


class DraftBand(Schema):
    from_: Short = Field(default="", alias="from")
    to: Short = ""
    points: Short = ""


class DraftQuestion(Schema):
    id: Short = ""
    kind: Kind = "yes_no"
    label: DraftWords = Field(default_factory=DraftWords)
    required: bool = True
    points_yes: Short = ""
    unit: Short = ""
    minimum: Short = ""
    maximum: Short = ""
    options: list[DraftOption] = Field(default_factory=list, max_length=20)
    bands: list[DraftBand] = Field(default_factory=list, max_length=10)


class DraftLevel(Schema):
    level: LevelName = "low"
    min_score: Short = ""
    max_score: Short = ""
    instruction: DraftWords = Field(default_factory=DraftWords)
    alert: bool = False
    fever_clinics: bool = False


class DraftDocument(Schema):
    title: DraftWords = Field(default_factory=DraftWords)
    intro: DraftWords = Field(default_factory=DraftWords)
    questions: list[DraftQuestion] = Field(default_factory=list, max_length=30)
    levels: list[DraftLevel] = Field(default_factory=list, max_length=3)

    def stored(self) -> str:
        return self.model_dump_json(by_alias=True)


def blank_document() -> DraftDocument:
    """A new questionnaire: one empty question and the three levels to fill in."""
    levels = [DraftLevel(level=name) for name in LEVEL_ORDER]
    levels[0].min_score = "0"
    return DraftDocument(questions=[DraftQuestion()], levels=levels)


def _text(value: Decimal | int | None) -> str:
    return "" if value is None else str(value)


def document_of(definition: Definition) -> DraftDocument:
    """A published definition as the editor shows it (a level's highest score is the next
    level's lowest less one)."""
    source = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    document = DraftDocument.model_validate(source | {"levels": []})
    starts = [level.min_score for level in definition.levels]
    for index, level in enumerate(definition.levels):
        following = starts[index + 1] - 1 if index + 1 < len(starts) else None
        document.levels.append(
            DraftLevel(
                level=level.level,
                min_score=_text(level.min_score),
                max_score=_text(following),
                instruction=DraftWords(zh=level.instruction.zh, en=level.instruction.en),
                alert=level.alert,
                fever_clinics=level.fever_clinics,
            )
        )
    return document


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value != ""}


def _source(document: DraftDocument) -> dict[str, Any]:
    """The document in a definition's shape: what a question's kind does not use is left out,
    and empty fields are missing (so a required one is named as such)."""
    questions = []
    for question in document.questions:
        item: dict[str, Any] = {
            "id": question.id,
            "kind": question.kind,
            "label": question.label.model_dump(),
            "required": question.required,
        }
        if question.kind == "yes_no":
            item |= _given(points_yes=question.points_yes)
        elif question.kind == "number":
            item |= _given(unit=question.unit, minimum=question.minimum, maximum=question.maximum)
            item["bands"] = [
                _given(points=band.points, to=band.to) | _given(**{"from": band.from_})
                for band in question.bands
            ]
        else:
            item["options"] = [
                {"id": option.id, "label": option.label.model_dump()} | _given(points=option.points)
                for option in question.options
            ]
        questions.append(item)
    source: dict[str, Any] = {
        "title": document.title.model_dump(),
        "questions": questions,
        "levels": [
            {
                "level": level.level,
                "instruction": level.instruction.model_dump(),
                "alert": level.alert,
                "fever_clinics": level.fever_clinics,
            }
            | _given(min_score=level.min_score)
            for level in document.levels
        ],
    }
    if document.intro.zh or document.intro.en:
        source["intro"] = document.intro.model_dump()
    return source


def _number(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _whole(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


Problem = tuple[tuple[Any, ...], str, dict[str, Any]]


def _question_problems(index: int, question: DraftQuestion) -> list[Problem]:
    here: tuple[Any, ...] = ("questions", index)
    problems: list[Problem] = []
    if question.kind in ("single", "multiple"):
        if len(question.options) < 2:
            problems.append(((*here, "options"), DRAFT_OPTIONS_MESSAGE, {}))
        seen: set[str] = set()
        for number, option in enumerate(question.options):
            if option.id and option.id in seen:
                where = (*here, "options", number, "id")
                problems.append((where, DRAFT_DUPLICATE_OPTION_MESSAGE, {"id": option.id}))
            seen.add(option.id)
    if question.kind == "number":
        problems += _range_problems(here, question)
    return problems


def _range_problems(here: tuple[Any, ...], question: DraftQuestion) -> list[Problem]:
    minimum, maximum = _number(question.minimum), _number(question.maximum)
    if minimum is None or maximum is None:
        return []  # the definition names the missing or unreadable end
    if minimum >= maximum:
        return [((*here, "maximum"), DRAFT_RANGE_MESSAGE, {})]
    problems: list[Problem] = []
    if question.unit.strip() in UNIT_RANGES:
        low, high = UNIT_RANGES[question.unit.strip()]
        fields = {"unit": question.unit.strip(), "low": low, "high": high}
        if minimum < low:
            problems.append(((*here, "minimum"), DRAFT_UNIT_RANGE_MESSAGE, fields))
        if maximum > high:
            problems.append(((*here, "maximum"), DRAFT_UNIT_RANGE_MESSAGE, fields))
    spans: list[tuple[Decimal, Decimal, int]] = []
    for number, band in enumerate(question.bands):
        where = (*here, "bands", number)
        start, end = _number(band.from_), _number(band.to)
        if not band.from_.strip() and not band.to.strip():
            problems.append(((*where, "from"), DRAFT_BAND_END_MESSAGE, {}))
            continue
        if (band.from_.strip() and start is None) or (band.to.strip() and end is None):
            continue  # the definition names the unreadable end
        start, end = start if start is not None else minimum, end if end is not None else maximum
        if start >= end:
            problems.append(((*where, "to"), DRAFT_BAND_ORDER_MESSAGE, {}))
        elif start < minimum or end > maximum:
            fields = {"minimum": minimum, "maximum": maximum}
            problems.append(((*where, "from"), DRAFT_BAND_OUTSIDE_MESSAGE, fields))
        else:
            spans.append((start, end, number))
    spans.sort()
    for (_, end, earlier), (start, _, later) in pairwise(spans):
        if start < end:
            where = (*here, "bands", later, "from")
            problems.append((where, DRAFT_BAND_OVERLAP_MESSAGE, {"other": earlier + 1}))
    return problems


def _level_problems(levels: list[DraftLevel]) -> list[Problem]:
    problems: list[Problem] = []
    ranks = [LEVEL_ORDER.index(level.level) for level in levels]
    for index in range(1, len(levels)):
        if ranks[index] <= ranks[index - 1]:
            problems.append((("levels", index, "level"), DRAFT_LEVEL_TWICE_MESSAGE, {}))
    previous_end: int | None = None
    for index, level in enumerate(levels):
        start, end = _whole(level.min_score), _whole(level.max_score)
        last = index == len(levels) - 1
        if index == 0 and start is not None and start != 0:
            problems.append((("levels", 0, "min_score"), DRAFT_LEVEL_START_MESSAGE, {}))
        if index > 0 and start is not None and previous_end is not None:
            if start > previous_end + 1:
                fields = {"low": previous_end + 1, "high": start - 1}
                problems.append((("levels", index, "min_score"), DRAFT_LEVEL_GAP_MESSAGE, fields))
            elif start <= previous_end:
                fields = {"low": start, "high": previous_end}
                where = ("levels", index, "min_score")
                problems.append((where, DRAFT_LEVEL_OVERLAP_MESSAGE, fields))
        if last and level.max_score.strip():
            problems.append((("levels", index, "max_score"), DRAFT_LEVEL_LAST_MESSAGE, {}))
        elif not last and end is None:
            problems.append((("levels", index, "max_score"), DRAFT_LEVEL_END_MESSAGE, {}))
        elif not last and start is not None and end is not None and end < start:
            problems.append((("levels", index, "max_score"), DRAFT_LEVEL_ORDER_MESSAGE, {}))
        previous_end = end
    return problems


def _problems(document: DraftDocument) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, question in enumerate(document.questions):
        if question.id and question.id in seen:
            where = ("questions", index, "id")
            problems.append((where, DRAFT_DUPLICATE_KEY_MESSAGE, {"id": question.id}))
        seen.add(question.id)
        problems += _question_problems(index, question)
    return problems + _level_problems(document.levels)


def _place(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "document"


def check(document: DraftDocument) -> tuple[Definition | None, dict[str, str]]:
    """The definition the document makes, or the problems by field (translated, one a field)."""
    errors: dict[str, str] = {}
    for loc, message, fields in _problems(document):
        errors.setdefault(_place(loc), translate(message, **fields))
    try:
        definition = Definition.model_validate(_source(document))
    except ValidationError as error:
        for item in error.errors():
            place = _place(tuple(item.get("loc", ())))
            if any(known.startswith(place + ".") for known in errors) or (
                place == "document" and errors
            ):
                continue  # a whole-question or whole-definition rule already named precisely
            message, fields = message_for(dict(item))
            errors.setdefault(place, translate(message, **fields))
        return None, errors
    return (None, errors) if errors else (definition, errors)


def refusal(errors: dict[str, str], *, prefix: str = "") -> Unprocessable:
    """The problem for an unpublishable document, listing every field with its message."""
    items = [{"field": prefix + field, "message": message} for field, message in errors.items()]
    first = items[0]
    return Unprocessable(
        "prescreening.draft_invalid",
        DRAFT_INVALID_MESSAGE,
        count=len(items),
        field=first["field"],
        error=first["message"],
        errors=items,
    )


def sound(definition: Definition) -> Definition:
    """``definition`` when a patient can be given it, else the problems (as for a draft)."""
    checked, errors = check(document_of(definition))
    if checked is None:
        raise refusal(errors, prefix="definition.")
    return definition
