"""The outbox's health for operators: how much waits, how late the oldest is, what died."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import STATUSES


@dataclass(frozen=True)
class OutboxHealth:
    counts: dict[str, int]
    due: int
    scheduled: int
    retrying: int
    oldest_pending_age_seconds: float | None
    dead_events: list[OutboxEvent]


async def outbox_health(
    session: AsyncSession, actor: Actor, *, dead_limit: int = 50
) -> OutboxHealth:
    """Counts by status; of the pending events, how many are due now, scheduled for later (timers)
    or retrying after a failure; how long the oldest due event has waited (the workers' lag);
    and the most recent dead events with their last error."""
    now = actor.clock.now()
    by_status = dict.fromkeys(STATUSES, 0)
    rows = await session.execute(
        select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)
    )
    for status, count in rows:
        by_status[status] = count
    pending = OutboxEvent.status == "pending"
    is_due = OutboxEvent.available_at <= now
    due, retrying, oldest = (
        await session.execute(
            select(
                func.count().filter(is_due),
                func.count().filter(OutboxEvent.attempts > 0),
                func.min(OutboxEvent.available_at).filter(is_due),
            ).where(pending)
        )
    ).one()
    dead_events = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.status == "dead")
            .order_by(OutboxEvent.id.desc())
            .limit(dead_limit)
        )
    ).all()
    return OutboxHealth(
        counts=by_status,
        due=due,
        scheduled=by_status["pending"] - due,
        retrying=retrying,
        oldest_pending_age_seconds=_age(now, oldest),
        dead_events=list(dead_events),
    )


def _age(now: datetime, oldest: datetime | None) -> float | None:
    if oldest is None:
        return None
    if oldest.tzinfo is None:  # an aggregate bypasses the column type on SQLite
        oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=now.tzinfo)
    return round((now - oldest).total_seconds(), 3)
