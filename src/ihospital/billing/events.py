"""Events billing publishes for other domains: an order paid, expired or cancelled.

Each is one outbox event (written in the transaction that changed the order) whose handler
calls every subscriber in turn: booking confirms or releases its slot, pharmacy its stock. A
subscriber registers with ``@subscribe(ORDER_EXPIRED)`` in its domain's ``tasks`` module and
must be idempotent: when one subscriber fails, the event is retried for all of them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.models import Order, OrderLine
from ihospital.core.context import Actor
from ihospital.outbox.service import Handler, emit

ORDER_PAID = "billing.order_paid"
ORDER_EXPIRED = "billing.order_expired"
ORDER_CANCELLED = "billing.order_cancelled"
TOPICS = (ORDER_PAID, ORDER_EXPIRED, ORDER_CANCELLED)

SUBSCRIBERS: dict[str, list[Handler]] = defaultdict(list)


def billed_subjects(payload: dict[str, Any], *, kind: str, subject_type: str) -> list[int]:
    """The ids of the subjects (appointments, consultations …) whose lines of ``kind`` the
    order of a billing event holds."""
    return [
        int(line["subject_id"])
        for line in payload["lines"]
        if line["kind"] == kind and line["subject_type"] == subject_type
    ]


def subscribe(topic: str):
    """Register ``async def f(session, actor, event_id, payload)`` for one of :data:`TOPICS`.
    The payload holds ``order_id``, ``patient_id``, ``institution_id`` and ``lines`` (each
    ``kind``, ``subject_type``, ``subject_id``)."""
    if topic not in TOPICS:
        raise ValueError(f"billing publishes no event {topic!r}")

    def register(func: Handler) -> Handler:
        if func not in SUBSCRIBERS[topic]:
            SUBSCRIBERS[topic].append(func)
        return func

    return register


async def publish(
    session: AsyncSession, actor: Actor, *, topic: str, order: Order, lines: list[OrderLine]
) -> None:
    payload: dict[str, Any] = {
        "order_id": order.id,
        "patient_id": order.patient_id,
        "institution_id": order.institution_id,
        "lines": [
            {"kind": line.kind, "subject_type": line.subject_type, "subject_id": line.subject_id}
            for line in lines
        ],
    }
    await emit(session, actor, topic=topic, payload=payload, dedupe_key=f"{topic}:{order.id}")


async def notify_subscribers(
    session: AsyncSession, actor: Actor, event_id: int, topic: str, payload: dict[str, Any]
) -> None:
    for subscriber in SUBSCRIBERS[topic]:
        await subscriber(session, actor, event_id, payload)
