"""How the sandbox provider's notifications travel: as durable outbox timers, one per delivery,
due after the delay the sandbox chose; the handler signs each when it is sent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.providers.sandbox import Delivery
from ihospital.core.context import Actor
from ihospital.outbox.service import emit

DELIVER_TOPIC = "billing.sandbox_deliver"


async def schedule_deliveries(
    session: AsyncSession, actor: Actor, *, deliveries: list[Delivery]
) -> None:
    now = actor.clock.now()
    for delivery in deliveries:
        await emit(
            session,
            actor,
            topic=DELIVER_TOPIC,
            payload={"body": delivery.body},
            available_at=now + timedelta(seconds=delivery.delay_seconds),
        )
