"""Outbox handlers of consultation: the acceptance and inactivity timers, the fee's order (paid,
expired, cancelled), refunds, the transition events' subscribers and the patient's 站内信."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.events import ORDER_CANCELLED, ORDER_EXPIRED, ORDER_PAID
from ihospital.billing.events import subscribe as on_billing
from ihospital.consultation.campaigns import tasks as campaign_tasks  # noqa: F401 (handlers)
from ihospital.consultation.events import (
    ACCEPTED,
    CANCELLED,
    CLOSED,
    TOPICS,
    notify_subscribers,
    subscribe,
)
from ihospital.consultation.payment import (
    billed_consultations,
    confirm_paid,
    refund_fee,
    release_unpaid,
    void_fee,
)
from ihospital.consultation.states import (
    ACCEPT_TOPIC,
    INACTIVITY_TOPIC,
    REFUND_TOPIC,
    VOID_TOPIC,
)
from ihospital.consultation.timers import close_inactive, expire_unaccepted
from ihospital.core.context import Actor
from ihospital.notifications.service import notify
from ihospital.outbox.service import handles, worker_service

# what the patient's account is told, by transition (and reason)
PATIENT_MESSAGES = {
    (ACCEPTED, None): (
        "Your consultation has begun",
        "The doctor has accepted your consultation.",
    ),
    (CANCELLED, "not_accepted"): (
        "Your consultation was cancelled",
        "No doctor accepted your consultation in time; it is cancelled and any fee refunded.",
    ),
    (CANCELLED, "unpaid"): (
        "Your consultation was cancelled",
        "The consultation fee was not paid in time; the consultation is cancelled.",
    ),
    (CLOSED, "doctor"): (
        "Your consultation was closed",
        "The doctor has closed your consultation.",
    ),
    (CLOSED, "in_person"): (
        "Your consultation was closed",
        "The doctor advises you to visit in person; book a visit from the doctor's schedule.",
    ),
    (CLOSED, "inactivity"): (
        "Your consultation was closed",
        "Your consultation was closed after a long time without activity.",
    ),
}


@handles(ACCEPT_TOPIC)
async def handle_accept_deadline(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """No doctor accepted in time: cancel and refund."""
    await expire_unaccepted(session, actor, consultation_id=payload["consultation_id"])


@handles(INACTIVITY_TOPIC)
async def handle_inactivity(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """Close a consultation left without activity."""
    await close_inactive(session, actor, consultation_id=payload["consultation_id"])


@handles(REFUND_TOPIC)
async def handle_refund(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A paid consultation was cancelled: billing refunds its fee."""
    await refund_fee(
        session,
        actor,
        consultation_id=payload["consultation_id"],
        order_id=payload["order_id"],
        platform=worker_service("insurance_platform"),
        cipher=worker_service("cipher"),
    )


@handles(VOID_TOPIC)
async def handle_void(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """An unpaid consultation was cancelled: its bill is cancelled too."""
    await void_fee(
        session,
        actor,
        order_id=payload["order_id"],
        platform=worker_service("insurance_platform"),
        cipher=worker_service("cipher"),
    )


@on_billing(ORDER_PAID)
async def confirm_paid_consultations(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """The fee was paid: its consultation waits for the doctor (or is refunded if cancelled)."""
    for consultation_id in billed_consultations(payload):
        await confirm_paid(
            session, actor, consultation_id=consultation_id, order_id=payload["order_id"]
        )


@on_billing(ORDER_EXPIRED)
@on_billing(ORDER_CANCELLED)
async def release_unpaid_consultations(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """The fee's order lapsed: its consultation is cancelled."""
    for consultation_id in billed_consultations(payload):
        await release_unpaid(session, actor, consultation_id=consultation_id)


@subscribe(ACCEPTED)
@subscribe(CANCELLED)
@subscribe(CLOSED)
async def tell_patient(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A 站内信 to the patient's account when a consultation begins or ends (not for their own
    cancellation)."""
    told = PATIENT_MESSAGES.get((payload["topic"], payload.get("reason")))
    if told is None:
        return
    title, body = told
    await notify(
        session,
        actor,
        account_id=payload["account_id"],
        kind="consultation",
        title=title,
        body=body,
        link=(
            f"/doctors/{payload['practitioner_id']}/schedule"
            if payload.get("reason") == "in_person"
            else ""
        ),
    )


def _fan_out(topic: str):
    async def handler(
        session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
    ) -> None:
        await notify_subscribers(session, actor, event_id, topic, payload)

    return handler


for _topic in TOPICS:
    handles(_topic)(_fan_out(_topic))
