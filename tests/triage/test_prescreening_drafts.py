"""Questionnaire drafts as a service: the checks between a draft and a published version (unit
ranges a person can have, point bands, gap-free risk levels, unique keys), saving over a stale
revision, publishing in one step with the version in use retiring, and an audit entry for each
change (issue 8, item 5)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.triage.prescreening import drafts, questionnaires
from ihospital.triage.prescreening.drafting import (
    DraftBand,
    DraftDocument,
    DraftOption,
    blank_document,
    check,
    document_of,
)
from ihospital.triage.prescreening.models import ScreeningQuestionnaireDraft
from tests.identity.builders import make_account


def _current() -> DraftDocument:
    return document_of(questionnaires.default_definition())


def _problems(document: DraftDocument) -> dict[str, str]:
    definition, errors = check(document)
    assert definition is None
    return errors


def test_the_default_questionnaire_round_trips_through_the_editor():
    definition, errors = check(_current())
    assert errors == {}
    assert definition == questionnaires.default_definition()
    levels = _current().levels
    assert [(lv.min_score, lv.max_score) for lv in levels] == [("0", "2"), ("3", "5"), ("6", "")]


def test_a_blank_draft_names_every_field_still_to_fill():
    errors = _problems(blank_document())
    for field in ("title.zh", "title.en", "questions.0.id", "questions.0.label.en"):
        assert field in errors
    assert "levels.1.min_score" in errors and "levels.0.max_score" in errors


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: setattr(d.questions[0], "maximum", "60"), "questions.0.maximum"),
        (lambda d: setattr(d.questions[0], "minimum", "-5"), "questions.0.minimum"),
        (lambda d: setattr(d.questions[0], "minimum", "44"), "questions.0.maximum"),
        (lambda d: setattr(d.questions[2], "id", "temperature"), "questions.2.id"),
        (
            lambda d: setattr(d.questions[1], "options", d.questions[1].options[:1]),
            "questions.1.options",
        ),
        (lambda d: setattr(d.questions[1].options[1], "id", "cough"), "questions.1.options.1.id"),
        (lambda d: setattr(d.questions[0].bands[1], "from_", "37.8"), "questions.0.bands.1.from"),
        (lambda d: setattr(d.questions[0].bands[0], "to", "37"), "questions.0.bands.0.to"),
        (lambda d: setattr(d.questions[0].bands[0], "from_", "20"), "questions.0.bands.0.from"),
        (lambda d: setattr(d.levels[1], "min_score", "4"), "levels.1.min_score"),
        (lambda d: setattr(d.levels[1], "min_score", "2"), "levels.1.min_score"),
        (lambda d: setattr(d.levels[0], "min_score", "1"), "levels.0.min_score"),
        (lambda d: setattr(d.levels[2], "max_score", "20"), "levels.2.max_score"),
        (lambda d: setattr(d.levels[1], "max_score", ""), "levels.1.max_score"),
        (lambda d: setattr(d.levels[2], "level", "medium"), "levels.2.level"),
        (lambda d: setattr(d.questions[2], "points_yes", "abc"), "questions.2.points_yes"),
        (lambda d: setattr(d.questions[0].label, "en", ""), "questions.0.label.en"),
    ],
)
def test_an_unsound_questionnaire_is_refused_at_its_field(change, field):
    document = _current()
    change(document)
    assert field in _problems(document)


def test_problems_are_told_in_the_admins_language():
    from ihospital.core.i18n import current_language

    document = _current()
    document.levels[1].min_score = "4"
    token = current_language.set("en")
    try:
        assert _problems(document)["levels.1.min_score"] == "Scores 3 to 3 belong to no level."
    finally:
        current_language.reset(token)
    assert _problems(document)["levels.1.min_score"] == "得分 3 至 3 不属于任何等级。"


def test_numbers_sent_as_numbers_are_kept_as_typed():
    band = DraftBand.model_validate({"from": 37.3, "to": None, "points": 2})
    assert (band.from_, band.to, band.points) == ("37.3", "", "2")
    assert DraftOption.model_validate({"id": "a", "points": 1}).points == "1"


async def _admin(session, clock) -> Actor:
    account = await make_account(session, role="platform_admin", clock=clock)
    return Actor(role="platform_admin", clock=clock, account_id=account.id)


async def _actions(session) -> list[str]:
    rows = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.subject_type == "screening_questionnaire_draft")
        .order_by(AuditEntry.id)
    )
    return list(rows)


async def test_a_draft_is_saved_over_requests_and_published_as_the_next_version(session, clock):
    admin = await _admin(session, clock)
    current = await questionnaires.published(session)
    draft = await drafts.start_draft(session, admin, source="current")
    assert draft.based_on_questionnaire_id == current.id and draft.revision == 1
    content = drafts.document(draft)
    content.title.zh = "新冠预检分诊"
    content.questions[2].points_yes = "4"
    saved = await drafts.save_draft(session, admin, draft_id=draft.id, revision=1, content=content)
    assert saved.revision == 2 and saved.title == "新冠预检分诊"
    with pytest.raises(Conflict) as stale:
        await drafts.save_draft(session, admin, draft_id=draft.id, revision=1, content=content)
    assert stale.value.code == "prescreening.draft_stale"

    published = await drafts.publish_draft(session, admin, draft_id=draft.id, revision=2)
    assert published.version == current.version + 1 and published.status == "published"
    assert questionnaires.definition_of(published).questions[2].points_yes == 4
    await session.refresh(current)
    assert current.status == "retired"
    assert await session.get(ScreeningQuestionnaireDraft, draft.id) is None
    assert await _actions(session) == [
        "prescreening.draft_start",
        "prescreening.draft_save",
        "prescreening.draft_publish",
    ]


async def test_an_unsound_draft_publishes_nothing_and_stays(session, clock):
    admin = await _admin(session, clock)
    current = await questionnaires.published(session)
    draft = await drafts.start_draft(session, admin, source="current")
    content = drafts.document(draft)
    content.questions[0].maximum = "60"
    content.levels[1].min_score = "4"
    await drafts.save_draft(session, admin, draft_id=draft.id, revision=1, content=content)
    with pytest.raises(Unprocessable) as refused:
        await drafts.publish_draft(session, admin, draft_id=draft.id, revision=2)
    fields = [item["field"] for item in refused.value.fields["errors"]]
    assert fields == ["document.questions.0.maximum", "document.levels.1.min_score"]
    assert (await questionnaires.published(session)).id == current.id
    assert await session.get(ScreeningQuestionnaireDraft, draft.id) is not None


async def test_a_discarded_draft_is_gone_and_audited(session, clock):
    admin = await _admin(session, clock)
    draft = await drafts.start_draft(session, admin, source="blank")
    assert drafts.document(draft) == blank_document()
    await drafts.discard_draft(session, admin, draft_id=draft.id, revision=1)
    with pytest.raises(NotFound):
        await drafts.get_draft(session, draft_id=draft.id)
    assert await _actions(session) == ["prescreening.draft_start", "prescreening.draft_discard"]


async def test_publishing_a_definition_directly_runs_the_same_checks(session, clock):
    admin = await _admin(session, clock)
    definition = questionnaires.default_definition()
    hot = definition.model_copy(deep=True)
    hot.questions[0].maximum = hot.questions[0].maximum * 2
    with pytest.raises(Unprocessable) as refused:
        await questionnaires.publish(session, admin, hot)
    assert refused.value.fields["field"] == "definition.questions.0.maximum"
