"""The questionnaire as data: definitions are checked when written, answers when given, and the
score leads to the level (issue 8, item 5)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ihospital.errors import Unprocessable
from ihospital.triage.prescreening.definition import Definition, score_answers
from ihospital.triage.prescreening.questionnaires import default_definition, stored
from tests.triage.prescreening_builders import HIGH, LOW, MEDIUM

DEFAULT = default_definition()


@pytest.mark.parametrize(
    ("answers", "level", "score"), [(LOW, "low", 0), (MEDIUM, "medium", 3), (HIGH, "high", 8)]
)
def test_the_score_leads_to_the_level(answers, level, score):
    scored = score_answers(DEFAULT, answers)
    assert (scored.level.level, scored.score) == (level, score)
    assert scored.level.alert is (level == "high")


def test_bands_include_their_lower_end_only():
    at = score_answers(DEFAULT, {**LOW, "temperature": "37.3"})
    below = score_answers(DEFAULT, {**LOW, "temperature": "37.2"})
    fever = score_answers(DEFAULT, {**LOW, "temperature": 38})
    assert (below.score, at.score, fever.score) == (0, 2, 3)


@pytest.mark.parametrize(
    ("answers", "field", "code"),
    [
        ({**LOW, "temperature": 60}, "answers.temperature", "prescreening.answer_invalid"),
        ({**LOW, "temperature": -5}, "answers.temperature", "prescreening.answer_invalid"),
        ({**LOW, "temperature": "hot"}, "answers.temperature", "prescreening.answer_invalid"),
        ({**LOW, "temperature": "NaN"}, "answers.temperature", "prescreening.answer_invalid"),
        ({**LOW, "temperature": True}, "answers.temperature", "prescreening.answer_invalid"),
        ({**LOW, "travel": "maybe"}, "answers.travel", "prescreening.answer_invalid"),
        (
            {**LOW, "symptoms": ["cough", "cough"]},
            "answers.symptoms",
            "prescreening.answer_invalid",
        ),
        ({**LOW, "symptoms": ["sneezing"]}, "answers.symptoms", "prescreening.answer_invalid"),
        (
            {k: v for k, v in LOW.items() if k != "contact"},
            "answers.contact",
            "prescreening.answer_invalid",
        ),
        ({**LOW, "shoe_size": 42}, "answers.shoe_size", "prescreening.answer_unknown"),
    ],
)
def test_a_bad_answer_names_its_question(answers, field, code):
    with pytest.raises(Unprocessable) as refused:
        score_answers(DEFAULT, answers)
    assert (refused.value.code, refused.value.fields["field"]) == (code, field)


def test_a_temperature_out_of_range_says_the_range_in_both_languages():
    with pytest.raises(Unprocessable) as refused:
        score_answers(DEFAULT, {**LOW, "temperature": 60})
    detail = refused.value.to_problem("zh-CN")["detail"]
    assert detail == "您现在的体温（腋温）是多少？：请填写 34 至 43 °C 之间的数值。"


def _definition(**changes) -> dict:
    data = DEFAULT.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {**data, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {"levels": [{"level": "low", "min_score": 1, "instruction": {"zh": "好", "en": "ok"}}]},
        {"levels": []},
        {"questions": []},
        {
            "questions": [
                {"id": "a", "kind": "yes_no", "label": {"zh": "甲", "en": "A"}},
                {"id": "a", "kind": "yes_no", "label": {"zh": "乙", "en": "B"}},
            ]
        },
        {"questions": [{"id": "t", "kind": "number", "label": {"zh": "体温", "en": "T"}}]},
        {
            "questions": [
                {
                    "id": "c",
                    "kind": "single",
                    "label": {"zh": "选", "en": "C"},
                    "options": [{"id": "x", "label": {"zh": "甲", "en": "X"}}],
                }
            ]
        },
        {"questions": [{"id": "Bad Id", "kind": "yes_no", "label": {"zh": "甲", "en": "A"}}]},
        {"title": {"zh": "<script>", "en": "x"}},
    ],
)
def test_a_definition_that_cannot_work_is_refused(changes):
    with pytest.raises(ValidationError):
        Definition.model_validate(_definition(**changes))


def test_the_stored_form_reads_back_the_same():
    assert Definition.model_validate_json(stored(DEFAULT)) == DEFAULT
