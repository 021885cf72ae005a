"""Outbox handlers of pharmacy orders: billing's events about their bills (paid, expired,
cancelled), cancelling an unpaid bill and refunding a paid one after an order is cancelled, the
``pharmacy.order_*`` events' subscribers, following the order's shipment, and telling the
pharmacists of a delivery that needs their decision."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.events import ORDER_CANCELLED, ORDER_EXPIRED, ORDER_PAID, billed_subjects
from ihospital.billing.events import subscribe as on_billing
from ihospital.billing.refunds import refund_the_rest
from ihospital.consultation.payment import void_fee
from ihospital.core.context import Actor
from ihospital.outbox.service import handles, worker_service
from ihospital.pharmacy.decisions import DECISION_TOPIC, tell_pharmacists
from ihospital.pharmacy.delivery import follow_shipment
from ihospital.pharmacy.orders import SUBJECT_TYPE
from ihospital.pharmacy.shipment_events import SHIPMENT_STATUS_CHANGED
from ihospital.pharmacy.shipment_events import subscribe as on_shipment
from ihospital.pharmacy.states import (
    REFUND_TOPIC,
    TOPICS,
    VOID_TOPIC,
    confirm_paid,
    mark_refunded,
    notify_subscribers,
    release_unpaid,
)


def billed_orders(payload: dict[str, Any]) -> set[int]:
    """The pharmacy orders whose drugs a billing event's bill holds."""
    return set(billed_subjects(payload, kind="drug", subject_type=SUBJECT_TYPE))


@on_billing(ORDER_PAID)
async def confirm_paid_orders(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """The bill was paid: the order waits for the pharmacist (or is refunded if cancelled)."""
    for order_id in billed_orders(payload):
        await confirm_paid(session, actor, order_id=order_id, billing_order_id=payload["order_id"])


@on_billing(ORDER_EXPIRED)
@on_billing(ORDER_CANCELLED)
async def release_unpaid_orders(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """The bill expired or was cancelled unpaid: the order is cancelled, its stock released."""
    for order_id in billed_orders(payload):
        await release_unpaid(session, actor, order_id=order_id)


@handles(VOID_TOPIC)
async def handle_void(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """An unpaid order was cancelled: its bill is cancelled too (as a consultation's is)."""
    await void_fee(
        session,
        actor,
        order_id=payload["billing_order_id"],
        platform=worker_service("insurance_platform"),
        cipher=worker_service("cipher"),
    )


@handles(REFUND_TOPIC)
async def handle_refund(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A paid order was cancelled: billing refunds what is left of its bill."""
    await refund_the_rest(
        session,
        actor,
        order_id=payload["billing_order_id"],
        idempotency_key=f"pharmacy-order:{payload['order_id']}:refund",
        platform=worker_service("insurance_platform"),
        cipher=worker_service("cipher"),
        note="购药订单已取消",  # stored for the institution's finance staff, in its language
    )
    await mark_refunded(session, actor, order_id=payload["order_id"])


def _publisher(topic: str):
    async def publish(
        session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
    ) -> None:
        await notify_subscribers(session, actor, event_id, topic, payload)

    publish.__doc__ = f"Call the subscribers of {topic}."
    return publish


for _topic in TOPICS:
    handles(_topic)(_publisher(_topic))


@on_shipment(SHIPMENT_STATUS_CHANGED)
async def follow_shipments(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A shipment moved: its order is delivered, or cancelled and refunded when returned."""
    await follow_shipment(session, actor, payload)


@handles(DECISION_TOPIC)
async def handle_decision_needed(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A delivery waits for the pharmacists: each is sent a 站内信."""
    await tell_pharmacists(session, actor, payload)
