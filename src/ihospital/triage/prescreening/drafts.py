"""Questionnaire drafts: the next version while a platform admin builds it (from the version in
use, from nothing, or from an imported definition), saved as often as needed, then published as
a new version in one transaction (the draft goes, the version it replaces retires) or discarded.
Each save names the revision it was made from, so an editor never overwrites another unseen;
every change is audited."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.triage.prescreening import questionnaires
from ihospital.triage.prescreening.definition import Definition
from ihospital.triage.prescreening.drafting import (
    DraftDocument,
    blank_document,
    check,
    document_of,
    refusal,
)
from ihospital.triage.prescreening.models import ScreeningQuestionnaire, ScreeningQuestionnaireDraft

DRAFT_NOT_FOUND_MESSAGE = "Draft {draft_id} does not exist (it may have been published)."
DRAFT_STALE_MESSAGE = (
    "Someone else changed this draft since you opened it (now revision {revision}); reload it "
    "and make your change again."
)
DRAFT_DEFINITION_MESSAGE = "Give the definition to import."


def definition_required() -> Unprocessable:
    return Unprocessable(
        "prescreening.draft_definition_required", DRAFT_DEFINITION_MESSAGE, field="definition"
    )


def document(draft: ScreeningQuestionnaireDraft) -> DraftDocument:
    return DraftDocument.model_validate_json(draft.document)


def _title(document: DraftDocument) -> str:
    return document.title.zh or document.title.en


async def drafts(
    session: AsyncSession, key: str = questionnaires.DEFAULT_KEY
) -> list[ScreeningQuestionnaireDraft]:
    rows = await session.scalars(
        select(ScreeningQuestionnaireDraft)
        .where(ScreeningQuestionnaireDraft.key == key)
        .order_by(ScreeningQuestionnaireDraft.updated_at.desc(), ScreeningQuestionnaireDraft.id)
    )
    return list(rows)


async def get_draft(
    session: AsyncSession, *, draft_id: int, for_update: bool = False
) -> ScreeningQuestionnaireDraft:
    draft = await session.get(
        ScreeningQuestionnaireDraft,
        draft_id,
        with_for_update=for_update,
        populate_existing=for_update,
    )
    if draft is None:
        raise NotFound("prescreening.draft_not_found", DRAFT_NOT_FOUND_MESSAGE, draft_id=draft_id)
    return draft


async def start_draft(
    session: AsyncSession,
    actor: Actor,
    *,
    source: Literal["current", "blank", "import"],
    definition: Definition | None = None,
    key: str = questionnaires.DEFAULT_KEY,
) -> ScreeningQuestionnaireDraft:
    """A new draft: a copy of the version in use (blank when none is), an empty questionnaire,
    or an imported ``definition``."""
    based_on: ScreeningQuestionnaire | None = None
    if source == "current":
        rows = await questionnaires.versions(session, key)
        based_on = next((row for row in rows if row.status == "published"), None)
    if based_on is not None:
        content = document_of(questionnaires.definition_of(based_on))
    elif source == "import" and definition is not None:
        content = document_of(definition)
    else:
        content = blank_document()
    now = actor.clock.now()
    draft = ScreeningQuestionnaireDraft(
        key=key,
        title=_title(content),
        document=content.stored(),
        revision=1,
        based_on_questionnaire_id=based_on.id if based_on else None,
        created_by_account_id=actor.account_id,
        updated_by_account_id=actor.account_id,
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    await session.flush()
    await _audit(session, actor, draft, "prescreening.draft_start", source=source)
    return draft


async def _current(
    session: AsyncSession, *, draft_id: int, revision: int
) -> ScreeningQuestionnaireDraft:
    draft = await get_draft(session, draft_id=draft_id, for_update=True)
    if draft.revision != revision:
        raise Conflict(
            "prescreening.draft_stale",
            DRAFT_STALE_MESSAGE,
            field="revision",
            revision=draft.revision,
        )
    return draft


async def save_draft(
    session: AsyncSession,
    actor: Actor,
    *,
    draft_id: int,
    revision: int,
    content: DraftDocument,
) -> ScreeningQuestionnaireDraft:
    """Keep the editor's fields as they are (incomplete is fine); refused when the draft
    changed since ``revision``."""
    draft = await _current(session, draft_id=draft_id, revision=revision)
    draft.document, draft.title = content.stored(), _title(content)[:300]
    draft.revision += 1
    draft.updated_at, draft.updated_by_account_id = actor.clock.now(), actor.account_id
    await session.flush()
    await _audit(session, actor, draft, "prescreening.draft_save")
    return draft


async def publish_draft(
    session: AsyncSession, actor: Actor, *, draft_id: int, revision: int
) -> ScreeningQuestionnaire:
    """Publish the draft as the next version when every check passes (else a problem listing
    each field); the draft is removed and the version in use retires, in one transaction."""
    draft = await _current(session, draft_id=draft_id, revision=revision)
    definition, errors = check(document(draft))
    if definition is None:
        raise refusal(errors, prefix="document.")
    published = await questionnaires.publish(session, actor, definition, key=draft.key)
    await _audit(session, actor, draft, "prescreening.draft_publish", version=published.version)
    await session.delete(draft)
    await session.flush()
    return published


async def discard_draft(
    session: AsyncSession, actor: Actor, *, draft_id: int, revision: int
) -> None:
    draft = await _current(session, draft_id=draft_id, revision=revision)
    await _audit(session, actor, draft, "prescreening.draft_discard")
    await session.delete(draft)
    await session.flush()


async def _audit(
    session: AsyncSession,
    actor: Actor,
    draft: ScreeningQuestionnaireDraft,
    action: str,
    **details: object,
) -> None:
    await record(
        session,
        actor,
        action=action,
        subject_type="screening_questionnaire_draft",
        subject_id=draft.id,
        details={"key": draft.key, "revision": draft.revision, **details},
    )
