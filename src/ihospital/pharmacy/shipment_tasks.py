"""Outbox handlers of pharmacy deliveries: the sandbox carriers' callbacks, and the fan-out of
the shipment events to their subscribers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.outbox.service import handles, worker_service
from ihospital.pharmacy.shipment_events import PUBLICATIONS
from ihospital.pharmacy.shipment_tracking import CALLBACK_TOPIC, receive_callback


@handles(CALLBACK_TOPIC)
async def handle_carrier_callback(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A sandbox carrier sends a callback: signed now, through the same verify-and-apply path
    as ``POST /api/pharmacy/carriers/{carrier}/callbacks``. A refusal fails the attempt, so
    the carrier sends it again later with the outbox's backoff, as a real carrier retries a
    callback that was not acknowledged."""
    carriers = worker_service("carriers")
    body: str = payload["body"]
    headers = carriers.named(payload["carrier"]).sign(body, now=actor.clock.now())
    await receive_callback(
        session,
        actor,
        carrier=payload["carrier"],
        headers=headers,
        body=body.encode(),
        carriers=carriers,
    )


PUBLICATIONS.register_handlers()
