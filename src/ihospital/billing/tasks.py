"""Outbox handlers of billing: hold expiry, payment queries, refund payouts, insurance
settlements left pending, sandbox deliveries and the fan-out of billing's events to their
subscribers."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.events import TOPICS, notify_subscribers
from ihospital.billing.expiry import expire_when_due
from ihospital.billing.insurance.settlement import COMPLETE_TOPIC, complete_pending
from ihospital.billing.notify import NotificationRefused, receive_notification
from ihospital.billing.orders import EXPIRE_TOPIC
from ihospital.billing.payments import QUERY_TOPIC, query_payment
from ihospital.billing.providers.sandbox import CHANNEL as SANDBOX
from ihospital.billing.refunds import EXECUTE_TOPIC, execute_refund
from ihospital.billing.sandbox_delivery import DELIVER_TOPIC
from ihospital.core.context import Actor
from ihospital.outbox.service import handles, worker_service


@handles(EXPIRE_TOPIC)
async def handle_expiry(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    await expire_when_due(
        session,
        actor,
        order_id=payload["order_id"],
        providers=worker_service("payment_providers"),
        platform=worker_service("insurance_platform"),
        cipher=worker_service("cipher"),
    )


@handles(QUERY_TOPIC)
async def handle_query(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    await query_payment(
        session,
        actor,
        payment_id=payload["payment_id"],
        attempt=payload["attempt"],
        providers=worker_service("payment_providers"),
    )


@handles(EXECUTE_TOPIC)
async def handle_refund(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    await execute_refund(
        session,
        actor,
        refund_id=payload["refund_id"],
        providers=worker_service("payment_providers"),
    )


@handles(COMPLETE_TOPIC)
async def handle_settlement_completion(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    await complete_pending(
        session,
        actor,
        settlement_id=payload["settlement_id"],
        platform=worker_service("insurance_platform"),
        cipher=worker_service("cipher"),
    )


@handles(DELIVER_TOPIC)
async def handle_sandbox_delivery(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """The sandbox delivers a notification: signed now, through the same verify-and-apply path
    as ``POST /api/billing/notify/sandbox``. Refusals are final, so they are not retried."""
    providers = worker_service("payment_providers")
    body: str = payload["body"]
    headers = providers[SANDBOX].sign(body, now=actor.clock.now())
    with contextlib.suppress(NotificationRefused):
        await receive_notification(
            session,
            actor,
            channel=SANDBOX,
            headers=headers,
            body=body.encode(),
            providers=providers,
        )


def _fan_out(topic: str):
    async def handler(
        session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
    ) -> None:
        await notify_subscribers(session, actor, event_id, topic, payload)

    return handler


for _topic in TOPICS:
    handles(_topic)(_fan_out(_topic))
