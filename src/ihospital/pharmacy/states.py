"""Transitions of a pharmacy order that do not hand drugs over: the audited, published status
change itself, cancelling, and billing's events (paid, expired, cancelled).

Every transition is one audit entry and one outbox event ``pharmacy.order_<status>`` written in
the transaction that made it (R13); other domains (supervision, delivery) subscribe with
``@subscribe(...)`` in their ``tasks`` module and must be idempotent. Cancelling gives the stock
back; an unpaid bill is cancelled and a paid one refunded through billing after commit
(:data:`VOID_TOPIC`, :data:`REFUND_TOPIC`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound
from ihospital.outbox.service import Handler, emit
from ihospital.pharmacy.models import ORDER_STATUSES, PharmacyOrder, PharmacyOrderItem
from ihospital.pharmacy.stock import release, works_at

TOPICS = tuple(f"pharmacy.order_{status}" for status in ORDER_STATUSES)
REFUND_TOPIC = "pharmacy.order_refund"
VOID_TOPIC = "pharmacy.order_void"
CANCELLABLE = ("created", "paid")
SUBSCRIBERS: dict[str, list[Handler]] = defaultdict(list)


def subscribe(topic: str):
    """Register ``async def f(session, actor, event_id, payload)`` for one of :data:`TOPICS`."""
    if topic not in TOPICS:
        raise ValueError(f"pharmacy publishes no event {topic!r}")

    def register(func: Handler) -> Handler:
        if func not in SUBSCRIBERS[topic]:
            SUBSCRIBERS[topic].append(func)
        return func

    return register


async def notify_subscribers(
    session: AsyncSession, actor: Actor, event_id: int, topic: str, payload: dict[str, Any]
) -> None:
    for subscriber in SUBSCRIBERS[topic]:
        await subscriber(session, actor, event_id, payload)


async def transition(
    session: AsyncSession, actor: Actor, order: PharmacyOrder, status: str, **details: Any
) -> None:
    """Move ``order`` to ``status``: one audit entry and one ``pharmacy.order_<status>`` event."""
    previous, order.status = order.status, status
    await session.flush()
    await record(
        session,
        actor,
        action=f"pharmacy.order.{status}",
        subject_type="pharmacy_order",
        subject_id=order.id,
        patient_id=order.patient_id,
        details={"from": previous, **details},
    )
    topic = f"pharmacy.order_{status}"
    await emit(
        session,
        actor,
        topic=topic,
        payload={
            "order_id": order.id,
            "status": status,
            "prescription_id": order.prescription_id,
            "patient_id": order.patient_id,
            "account_id": order.account_id,
            "institution_id": order.institution_id,
            "pharmacy_id": order.pharmacy_id,
        },
        dedupe_key=f"{topic}:{order.id}",
    )


def order_not_found(order_id: int) -> NotFound:
    return NotFound(
        "pharmacy.order_not_found", "Pharmacy order {order_id} was not found.", order_id=order_id
    )


def wrong_state(order: PharmacyOrder) -> Conflict:
    return Conflict(
        "pharmacy.order_state",
        "This order is {order_status}; that cannot be done now.",
        order_status=order.status,
    )


async def locked_order(session: AsyncSession, order_id: int) -> PharmacyOrder | None:
    return await session.scalar(
        select(PharmacyOrder).where(PharmacyOrder.id == order_id).with_for_update()
    )


async def own_or_staffed_order(
    session: AsyncSession, actor: Actor, order_id: int, *, for_update: bool = False
) -> PharmacyOrder:
    """An order of the actor's account, or of the pharmacist's institution; else not found."""
    statement = select(PharmacyOrder).where(PharmacyOrder.id == order_id)
    order = await session.scalar(statement.with_for_update() if for_update else statement)
    if order is None or not (
        order.account_id == actor.account_id or works_at(actor, order.institution_id)
    ):
        raise order_not_found(order_id)
    return order


async def order_items(session: AsyncSession, order_id: int) -> list[PharmacyOrderItem]:
    rows = await session.scalars(
        select(PharmacyOrderItem)
        .where(PharmacyOrderItem.order_id == order_id)
        .order_by(PharmacyOrderItem.id)
    )
    return list(rows.all())


async def release_stock(session: AsyncSession, actor: Actor, order: PharmacyOrder) -> None:
    items = await order_items(session, order.id)
    await release(
        session,
        actor,
        pharmacy_id=order.pharmacy_id,
        quantities={item.drug_id: item.quantity for item in items},
    )


async def cancel_order(
    session: AsyncSession, actor: Actor, *, order_id: int, reason: str
) -> PharmacyOrder:
    """Cancel an order before it is dispensed (the account, or a pharmacist of the
    institution): the stock is given back, an unpaid bill cancelled and a paid one refunded."""
    order = await own_or_staffed_order(session, actor, order_id, for_update=True)
    if order.status not in CANCELLABLE:
        raise wrong_state(order)
    await _cancel(session, actor, order, reason=reason)
    return order


async def _cancel(session: AsyncSession, actor: Actor, order: PharmacyOrder, *, reason: str):
    was_paid = order.status == "paid"
    await release_stock(session, actor, order)
    order.cancelled_at, order.cancel_reason = actor.clock.now(), reason
    await transition(session, actor, order, "cancelled", reason=reason)
    if was_paid:
        await refund_later(session, actor, order)
    elif order.billing_order_id is not None:
        await emit(
            session,
            actor,
            topic=VOID_TOPIC,
            payload={"order_id": order.id, "billing_order_id": order.billing_order_id},
            dedupe_key=f"{VOID_TOPIC}:{order.id}",
        )


async def refund_later(session: AsyncSession, actor: Actor, order: PharmacyOrder) -> None:
    await emit(
        session,
        actor,
        topic=REFUND_TOPIC,
        payload={"order_id": order.id, "billing_order_id": order.billing_order_id},
        dedupe_key=f"{REFUND_TOPIC}:{order.id}",
    )


async def confirm_paid(
    session: AsyncSession, actor: Actor, *, order_id: int, billing_order_id: int
) -> None:
    """Billing says the bill was paid: the order waits for the pharmacist; one cancelled
    meanwhile is refunded instead. Idempotent."""
    order = await locked_order(session, order_id)
    if order is None or order.billing_order_id != billing_order_id or order.paid_at is not None:
        return
    order.paid_at = actor.clock.now()
    if order.status == "created":
        await transition(session, actor, order, "paid", billing_order_id=billing_order_id)
    elif order.status == "cancelled":
        await refund_later(session, actor, order)


async def release_unpaid(session: AsyncSession, actor: Actor, *, order_id: int) -> None:
    """The bill expired or was cancelled unpaid: the order is cancelled and its stock given
    back. Idempotent."""
    order = await locked_order(session, order_id)
    if order is None or order.status != "created":
        return
    await _cancel(session, actor, order, reason="unpaid")


async def mark_refunded(session: AsyncSession, actor: Actor, *, order_id: int) -> None:
    """Billing refunded a cancelled order's bill. Idempotent."""
    order = await locked_order(session, order_id)
    if order is None or order.status != "cancelled":
        return
    order.refunded_at = actor.clock.now()
    await transition(session, actor, order, "refunded")
