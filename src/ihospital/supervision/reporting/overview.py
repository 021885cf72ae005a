"""The regulator's view of the feed: its lag and failures, and re-queueing a rejected record.

A regulator sees the records of the institutions in the region of their account (GB/T 2260:
a province ``420000`` covers every code starting ``42``, a city ``420100`` those starting
``4201``); a platform admin sees them all. The pusher's last success and error are about the
connection to the platform, so every reader sees them. Reading the view and re-queueing are
audited (R13).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.directory.regions import significant
from ihospital.errors import Conflict, NotFound
from ihospital.security.permissions import Role
from ihospital.supervision.reporting.feed import PROMPT_SECONDS, grid_slot, schedule_push
from ihospital.supervision.reporting.models import (
    PENDING,
    REJECTED,
    STATUSES,
    FeedState,
    ReportRecord,
)
from ihospital.supervision.reporting.pusher import feed_state

NOT_FOUND_MESSAGE = "Feed record {record_id} was not found."
NOT_REJECTED_MESSAGE = (
    "Feed record {record_id} was not rejected; only a rejected record can be re-queued."
)


def _in_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.role == Role.PLATFORM_ADMIN:
        return true()
    if not actor.region_code:
        return false()
    return ReportRecord.region_code.startswith(significant(actor.region_code))


@dataclass(frozen=True)
class FeedOverview:
    counts: dict[str, int]
    oldest_pending_at: datetime | None
    lag_seconds: float | None
    state: FeedState
    rejected: list[ReportRecord]


async def feed_overview(session: AsyncSession, actor: Actor, *, limit: int = 100) -> FeedOverview:
    """Counts by status, the age of the oldest undelivered record (the feed's lag), the last
    success and error of the pusher, and the rejected records with the platform's reasons."""
    scope = _in_scope(actor)
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in await session.execute(
        select(ReportRecord.status, func.count()).where(scope).group_by(ReportRecord.status)
    ):
        counts[status] = count
    oldest = await session.scalar(
        select(ReportRecord.created_at)
        .where(scope, ReportRecord.status == PENDING)
        .order_by(ReportRecord.sequence)
        .limit(1)
    )
    rejected = (
        await session.scalars(
            select(ReportRecord)
            .where(scope, ReportRecord.status == REJECTED)
            .order_by(ReportRecord.sequence)
            .limit(limit)
        )
    ).all()
    await record(
        session,
        actor,
        action="reporting.feed_read",
        subject_type="reporting_feed",
        subject_id=actor.region_code or "all",
        details={"counts": counts},
    )
    lag = None if oldest is None else (actor.clock.now() - oldest).total_seconds()
    return FeedOverview(counts, oldest, lag, await feed_state(session), list(rejected))


async def requeue_record(session: AsyncSession, actor: Actor, *, record_id: int) -> ReportRecord:
    """Send a rejected record again (after what the platform refused is fixed, e.g. the
    institution's filing with the platform); the rejection is kept in the audit entry."""
    found = await session.scalar(
        select(ReportRecord).where(ReportRecord.id == record_id, _in_scope(actor))
    )
    if found is None:
        raise NotFound("reporting.record_not_found", NOT_FOUND_MESSAGE, record_id=record_id)
    if found.status != REJECTED:
        raise Conflict(
            "reporting.not_rejected", NOT_REJECTED_MESSAGE, record_id=record_id, status=found.status
        )
    details = {
        "idempotency_key": found.idempotency_key,
        "reject_code": found.reject_code,
        "reject_reason": found.reject_reason,
    }
    now = actor.clock.now()
    found.status, found.requeued_at = PENDING, now
    found.reject_code = found.reject_reason = found.rejected_at = None
    await record(
        session,
        actor,
        action="reporting.record_requeued",
        subject_type="reporting_record",
        subject_id=found.id,
        details=details,
    )
    await schedule_push(session, actor, at=grid_slot(now, timedelta(seconds=PROMPT_SECONDS)))
    return found
