"""How a sandbox's callbacks travel (the payment provider's notifications, a carrier's tracking
events): as durable outbox timers, one per delivery, due after the delay the sandbox chose; the
handler signs each when it is sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.providers.sandbox import Delivery
from ihospital.core.context import Actor
from ihospital.outbox.service import emit

DELIVER_TOPIC = "billing.sandbox_deliver"


async def schedule_deliveries(
    session: AsyncSession,
    actor: Actor,
    *,
    deliveries: Sequence[Delivery],
    topic: str = DELIVER_TOPIC,
    payload: dict[str, Any] | None = None,
) -> None:
    """One timer of ``topic`` per delivery, its payload ``payload`` with the delivery's body."""
    now = actor.clock.now()
    for delivery in deliveries:
        await emit(
            session,
            actor,
            topic=topic,
            payload={**(payload or {}), "body": delivery.body},
            available_at=now + timedelta(seconds=delivery.delay_seconds),
        )
