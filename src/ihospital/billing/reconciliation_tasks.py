"""The daily reconciliation timer: run the day, then set the timer of the next day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.billing.reconciliation import (
    RECONCILE_TOPIC,
    reconcile,
    schedule_next_reconciliations,
    schedule_reconciliation,
)
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.outbox.service import handles, worker_service


@handles(RECONCILE_TOPIC)
async def handle_reconciliation(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """Reconcile the payload's day; a provider that does not answer raises, so the outbox
    tries again later, and the next day's timer is set only with a finished run."""
    day, channel = date.fromisoformat(payload["day"]), payload["channel"]
    await reconcile(
        session, actor, day=day, channel=channel, providers=worker_service("payment_providers")
    )
    await schedule_reconciliation(session, actor, channel=channel, day=day + timedelta(days=1))


async def start_daily_reconciliation(
    factory: async_sessionmaker[AsyncSession], clock: Clock, *, channels: Iterable[str]
) -> None:
    """Set each channel's next run if it is not set yet (workers call this as they start)."""
    async with factory() as session:
        await schedule_next_reconciliations(session, Actor.system(clock), channels=channels)
        await session.commit()
