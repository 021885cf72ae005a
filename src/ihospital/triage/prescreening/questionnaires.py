"""Questionnaire versions: the published one patients answer, publishing a new version (the
previous one retires in the same transaction) and retiring one. Versions are never edited, so
every submission keeps the exact questions it answered. The platform's default questionnaire
(``data/prescreening_default.json``) is published by the migration that made the tables."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound
from ihospital.triage.prescreening.definition import Definition
from ihospital.triage.prescreening.drafting import sound
from ihospital.triage.prescreening.models import ScreeningQuestionnaire

DEFAULT_KEY = "epidemic"
DEFAULT_DEFINITION = Path(__file__).resolve().parents[1] / "data" / "prescreening_default.json"
NOT_FOUND_MESSAGE = "Questionnaire version {questionnaire_id} does not exist."
NONE_PUBLISHED_MESSAGE = "No pre-screening questionnaire is published at the moment."
RETIRED_MESSAGE = (
    "This version of the questionnaire is no longer in use; answer the current version "
    "{current_id}."
)
CONCURRENT_MESSAGE = "Another version was published at the same time; reload and try again."
ALREADY_RETIRED_MESSAGE = "Questionnaire version {questionnaire_id} is already retired."


def default_definition() -> Definition:
    return Definition.model_validate_json(DEFAULT_DEFINITION.read_text(encoding="utf-8"))


def stored(definition: Definition) -> str:
    """The JSON kept for a version (read back by :func:`definition_of`)."""
    return definition.model_dump_json(by_alias=True, exclude_none=True)


def definition_of(questionnaire: ScreeningQuestionnaire) -> Definition:
    return Definition.model_validate_json(questionnaire.definition)


def not_found(questionnaire_id: int) -> NotFound:
    return NotFound(
        "prescreening.questionnaire_not_found", NOT_FOUND_MESSAGE, questionnaire_id=questionnaire_id
    )


async def published(session: AsyncSession, key: str = DEFAULT_KEY) -> ScreeningQuestionnaire:
    questionnaire = await session.scalar(
        select(ScreeningQuestionnaire).where(
            ScreeningQuestionnaire.key == key, ScreeningQuestionnaire.status == "published"
        )
    )
    if questionnaire is None:
        raise NotFound("prescreening.none_published", NONE_PUBLISHED_MESSAGE)
    return questionnaire


async def version(session: AsyncSession, questionnaire_id: int) -> ScreeningQuestionnaire:
    questionnaire = await session.get(ScreeningQuestionnaire, questionnaire_id)
    if questionnaire is None:
        raise not_found(questionnaire_id)
    return questionnaire


async def answerable(session: AsyncSession, questionnaire_id: int) -> ScreeningQuestionnaire:
    """The version a patient answers: it exists and is still the published one."""
    questionnaire = await version(session, questionnaire_id)
    if questionnaire.status != "published":
        current = await session.scalar(
            select(ScreeningQuestionnaire.id).where(
                ScreeningQuestionnaire.key == questionnaire.key,
                ScreeningQuestionnaire.status == "published",
            )
        )
        raise Conflict("prescreening.version_retired", RETIRED_MESSAGE, current_id=current)
    return questionnaire


async def versions(session: AsyncSession, key: str = DEFAULT_KEY) -> list[ScreeningQuestionnaire]:
    rows = await session.scalars(
        select(ScreeningQuestionnaire)
        .where(ScreeningQuestionnaire.key == key)
        .order_by(ScreeningQuestionnaire.version.desc())
    )
    return list(rows)


async def publish(
    session: AsyncSession, actor: Actor, definition: Definition, *, key: str = DEFAULT_KEY
) -> ScreeningQuestionnaire:
    """A new version of ``key`` with ``definition``, once it is sound for patients (see
    :mod:`~ihospital.triage.prescreening.drafting`); the version it replaces retires."""
    sound(definition)
    now = actor.clock.now()
    try:
        async with session.begin_nested():
            current = await session.scalar(
                select(ScreeningQuestionnaire)
                .where(
                    ScreeningQuestionnaire.key == key,
                    ScreeningQuestionnaire.status == "published",
                )
                .with_for_update()
            )
            if current is not None:
                current.status, current.retired_at = "retired", now
                await session.flush()
            last = await session.scalar(
                select(func.max(ScreeningQuestionnaire.version)).where(
                    ScreeningQuestionnaire.key == key
                )
            )
            questionnaire = ScreeningQuestionnaire(
                key=key,
                version=(last or 0) + 1,
                title=definition.title.zh,
                definition=stored(definition),
                status="published",
                published_at=now,
                published_by_account_id=actor.account_id,
                retired_at=None,
            )
            session.add(questionnaire)
            await session.flush()
    except IntegrityError:
        raise Conflict("prescreening.publish_conflict", CONCURRENT_MESSAGE) from None
    await record(
        session,
        actor,
        action="prescreening.questionnaire_publish",
        subject_type="screening_questionnaire",
        subject_id=questionnaire.id,
        details={
            "key": key,
            "version": questionnaire.version,
            "replaces": current.id if current else None,
        },
    )
    return questionnaire


async def retire(
    session: AsyncSession, actor: Actor, *, questionnaire_id: int
) -> ScreeningQuestionnaire:
    """Stop using a version without a successor: patients then find no questionnaire."""
    questionnaire = await session.get(
        ScreeningQuestionnaire, questionnaire_id, with_for_update=True
    )
    if questionnaire is None:
        raise not_found(questionnaire_id)
    if questionnaire.status == "retired":
        raise Conflict(
            "prescreening.already_retired",
            ALREADY_RETIRED_MESSAGE,
            questionnaire_id=questionnaire_id,
        )
    questionnaire.status, questionnaire.retired_at = "retired", actor.clock.now()
    await session.flush()
    await record(
        session,
        actor,
        action="prescreening.questionnaire_retire",
        subject_type="screening_questionnaire",
        subject_id=questionnaire.id,
        details={"key": questionnaire.key, "version": questionnaire.version},
    )
    return questionnaire


def default_row(definition: Definition) -> dict[str, object]:
    """The values of version 1 of the default questionnaire (for the migration's seed)."""
    return {
        "key": DEFAULT_KEY,
        "version": 1,
        "title": definition.title.zh,
        "definition": stored(definition),
        "status": "published",
    }
