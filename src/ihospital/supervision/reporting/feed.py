"""Writing the feed: a standardised record per domain event, in the transaction that handles it.

The record is wrapped in an envelope that names its schema, idempotency key, sequence number,
version and the event it reports; it is written with the next sequence number (taken under
the feed's row lock, so numbers follow the order of the commits) and wakes the pusher within a
few seconds (R13: real-time upload to the provincial platform).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.directory.access import get_institution_row
from ihospital.outbox.service import emit
from ihospital.supervision.reporting.documents import SCHEMA_VERSION, Standardised
from ihospital.supervision.reporting.models import PENDING, FeedState, ReportRecord

PUSH = "reporting.push"
FEED_STATE_ID = 1
PROMPT_SECONDS = 5


def idempotency_key(kind: str, subject_id: int, version: int) -> str:
    return f"{kind}:{subject_id}:v{version}"


async def _next_sequence(session: AsyncSession) -> int:
    taken = await session.scalar(
        update(FeedState)
        .where(FeedState.id == FEED_STATE_ID)
        .values(next_sequence=FeedState.next_sequence + 1)
        .returning(FeedState.next_sequence)
    )
    if taken is None:
        raise LookupError("the reporting feed's state row is missing (run the migrations)")
    return taken - 1


async def append_record(
    session: AsyncSession, actor: Actor, *, document: Standardised, event: str
) -> ReportRecord:
    """Add the next version of a subject's standardised record to the feed (R13)."""
    institution = await get_institution_row(session, document.institution_id)
    sequence = await _next_sequence(session)
    latest = await session.scalar(
        select(func.max(ReportRecord.version)).where(
            ReportRecord.kind == document.kind, ReportRecord.subject_id == document.subject_id
        )
    )
    version = (latest or 0) + 1
    key = idempotency_key(document.kind, document.subject_id, version)
    now = actor.clock.now()
    envelope = {
        "schema": f"{document.kind}/{SCHEMA_VERSION}",
        "idempotency_key": key,
        "sequence": sequence,
        "version": version,
        "event": event,
        "occurred_at": now.isoformat(),
        "institution": {
            "id": institution.id,
            "name": institution.name,
            "region_code": institution.region_code,
        },
        "data": document.body,
    }
    record = ReportRecord(
        sequence=sequence,
        kind=document.kind,
        subject_id=document.subject_id,
        version=version,
        idempotency_key=key,
        event=event,
        document=json.dumps(envelope, ensure_ascii=False, sort_keys=True, default=str),
        institution_id=institution.id,
        region_code=institution.region_code,
        status=PENDING,
        attempts=0,
        created_at=now,
    )
    session.add(record)
    await session.flush()
    await schedule_push(session, actor, at=grid_slot(now, timedelta(seconds=PROMPT_SECONDS)))
    return record


def grid_slot(moment: datetime, step: timedelta) -> datetime:
    """The first moment after ``moment`` on the grid of ``step`` (records written within a few
    seconds share one push; workers starting together set one tick)."""
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    return epoch + ((moment - epoch) // step + 1) * step


async def schedule_push(
    session: AsyncSession, actor: Actor, *, at: datetime, reason: str | None = None
) -> None:
    """A push of the feed at ``at``, once per moment (or per ``reason``), whoever asks."""
    key = f"{PUSH}:{reason or at.isoformat()}"
    await emit(session, actor, topic=PUSH, payload={}, available_at=at, dedupe_key=key)
