"""Outbox handlers of booking: tell a patient their appointment was cancelled or moved (改约),
follow the registration fee's order (paid, expired, cancelled) and refund cancelled paid
appointments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.events import ORDER_CANCELLED, ORDER_EXPIRED, ORDER_PAID, subscribe
from ihospital.booking.appointments import local_label
from ihospital.booking.fairness.flags import PUBLICATIONS as FAIRNESS_PUBLICATIONS
from ihospital.booking.payment import (
    HOLD_MINUTES,
    REFUND_TOPIC,
    confirm_paid,
    refund_registration,
    registered_appointments,
)
from ihospital.booking.reschedule import APPOINTMENT_RESCHEDULED
from ihospital.booking.schedules import APPOINTMENT_CANCELLED
from ihospital.booking.waitlist import WAITLIST_OFFERED, release_unpaid
from ihospital.core.context import Actor
from ihospital.notifications.service import notify
from ihospital.outbox.service import handles, worker_service


@handles(APPOINTMENT_CANCELLED)
async def handle_cancelled(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A stopped session (停诊) cancelled the appointment: a 站内信 and an SMS to the account."""
    text = (
        "The session at {time} was stopped; your appointment is cancelled."
        if payload.get("resource_id")  # a vaccination or check-up, not a doctor
        else "The doctor's session at {time} was stopped; your appointment is cancelled."
    )
    await notify(
        session,
        actor,
        account_id=payload["account_id"],
        kind="appointment",
        title="Your appointment was cancelled",
        body=text,
        sms_text=text,
        link="/appointments",
        fields={"time": local_label(datetime.fromisoformat(payload["starts_at"]))},
    )


@handles(APPOINTMENT_RESCHEDULED)
async def handle_rescheduled(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """The account moved an appointment (改约): a 站内信 and an SMS confirm the new time."""
    await notify(
        session,
        actor,
        account_id=payload["account_id"],
        kind="appointment",
        title="Your appointment was rescheduled",
        body="Your appointment is now at {time}.",
        sms_text="Your appointment is now at {time}.",
        link="/appointments",
        fields={"time": local_label(datetime.fromisoformat(payload["starts_at"]))},
    )


@handles(WAITLIST_OFFERED)
async def handle_offered(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A waitlisted 就诊人 was given a freed place: a 站内信 and an SMS to the account (pay the
    registration fee within the hold, when there is one)."""
    text = (
        "A place became free at {time} and is now yours; pay the registration fee within "
        "{minutes} minutes to keep it."
        if payload["to_pay"]
        else "A place became free at {time} and is now yours."
    )
    await notify(
        session,
        actor,
        account_id=payload["account_id"],
        kind="appointment",
        title="Your waitlist place came up",
        body=text,
        sms_text=text,
        link="/appointments",
        fields={
            "time": local_label(datetime.fromisoformat(payload["starts_at"])),
            "minutes": HOLD_MINUTES,
        },
    )


@subscribe(ORDER_PAID)
async def confirm_paid_appointments(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """The registration fee was paid: its appointment is confirmed (or refunded if cancelled)."""
    for appointment_id in registered_appointments(payload):
        await confirm_paid(
            session, actor, appointment_id=appointment_id, order_id=payload["order_id"]
        )


@subscribe(ORDER_EXPIRED)
@subscribe(ORDER_CANCELLED)
async def release_unpaid_appointments(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """The registration fee's hold lapsed: its appointment is cancelled and the place freed."""
    for appointment_id in registered_appointments(payload):
        await release_unpaid(session, actor, appointment_id=appointment_id)


@handles(REFUND_TOPIC)
async def handle_refund(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A paid appointment was cancelled: billing refunds its fee."""
    await refund_registration(
        session,
        actor,
        appointment_id=payload["appointment_id"],
        order_id=payload["order_id"],
        platform=worker_service("insurance_platform"),
        cipher=worker_service("cipher"),
    )


FAIRNESS_PUBLICATIONS.register_handlers()  # scalper flags, to their subscribers (supervision)
