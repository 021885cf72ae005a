"""Pushing the feed to the provincial platform: one batch per outbox event, in sequence order.

The batch is sent, and its records marked, inside the outbox event's transaction, so a worker
killed mid-batch marks nothing: the event stays pending and the same records go again, which the
platform acknowledges as duplicates by their idempotency keys. A batch the platform does not
take (timeout, network, 5xx) leaves the records pending and holds the whole feed back with
exponential backoff (the records keep their order); the platform's rejection of one record is
kept with its reason and the record is not sent again until someone re-queues it. On
PostgreSQL one pusher works at a time (an advisory lock), so batches do not overtake each other.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.outbox.service import backoff
from ihospital.supervision.reporting.feed import FEED_STATE_ID
from ihospital.supervision.reporting.models import (
    DELIVERED,
    PENDING,
    REJECTED,
    FeedState,
    ReportRecord,
)
from ihospital.supervision.reporting.platform import (
    Outgoing,
    PlatformUnavailable,
    ProvincialPlatform,
)

LOCK_KEY = zlib.crc32(b"reporting-feed")


@dataclass(frozen=True)
class PushResult:
    outcome: Literal["busy", "waiting", "idle", "sent", "failed"]
    delivered: int = 0
    rejected: int = 0
    more_after: int | None = None  # the last sequence sent, when more records wait
    retry_at: datetime | None = None


async def _exclusive(session: AsyncSession) -> bool:
    if session.bind.dialect.name != "postgresql":
        return True  # SQLite has one writer; a second pusher's resend is only a duplicate
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(LOCK_KEY))))


async def feed_state(session: AsyncSession) -> FeedState:
    state = await session.get(FeedState, FEED_STATE_ID)
    if state is None:
        raise LookupError("the reporting feed's state row is missing (run the migrations)")
    return state


async def record_failure(session: AsyncSession, actor: Actor, error: str) -> datetime:
    """The feed could not be pushed: hold it back with exponential backoff; answers when the
    next attempt is due."""
    state = await feed_state(session)
    now = actor.clock.now()
    state.failures += 1
    state.next_attempt_at = now + backoff(state.failures)
    state.last_error = error[:2000]
    state.last_error_at = now
    return state.next_attempt_at


async def push_batch(
    session: AsyncSession, actor: Actor, *, platform: ProvincialPlatform, batch: int
) -> PushResult:
    """Send the oldest pending records (at most ``batch``) and mark them by the platform's
    answers (R13)."""
    if not await _exclusive(session):
        return PushResult("busy")
    state = await feed_state(session)
    if state.next_attempt_at is not None and actor.clock.now() < state.next_attempt_at:
        return PushResult("waiting", retry_at=state.next_attempt_at)
    records = list(
        await session.scalars(
            select(ReportRecord)
            .where(ReportRecord.status == PENDING)
            .order_by(ReportRecord.sequence)
            .limit(batch + 1)
        )
    )
    more, records = len(records) > batch, records[:batch]
    if not records:
        return PushResult("idle")
    for record in records:
        record.attempts += 1
    try:
        acks = await platform.send(
            [Outgoing(r.idempotency_key, r.sequence, r.kind, r.document) for r in records]
        )
    except PlatformUnavailable as error:
        retry_at = await record_failure(session, actor, str(error))
        return PushResult("failed", retry_at=retry_at)
    now = actor.clock.now()
    answers = {ack.idempotency_key: ack for ack in acks}
    delivered = rejected = 0
    for record in records:
        ack = answers.get(record.idempotency_key)
        if ack is None:
            continue  # unanswered: still pending, sent again by the next push
        if ack.outcome == "rejected":
            record.status, record.rejected_at = REJECTED, now
            record.reject_code, record.reject_reason = ack.code[:32], ack.reason[:2000]
            rejected += 1
        else:
            record.status, record.delivered_at = DELIVERED, now
            delivered += 1
    state.failures, state.next_attempt_at, state.last_success_at = 0, None, now
    return PushResult(
        "sent", delivered, rejected, more_after=records[-1].sequence if more else None
    )
