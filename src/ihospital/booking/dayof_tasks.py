"""Outbox handlers of the day of the visit: reminders and the automatic no-show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.appointments import local_label
from ihospital.booking.dayof import record_missed_visit
from ihospital.booking.dayof_models import Visit
from ihospital.booking.models import Appointment, Slot
from ihospital.booking.reminders import NO_SHOW_TOPIC, REMINDER_TOPIC, timer_is_current
from ihospital.core.context import Actor
from ihospital.notifications.service import notify
from ihospital.outbox.service import handles


@handles(REMINDER_TOPIC)
async def handle_reminder(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """Remind the account of a confirmed appointment by 站内信 and SMS; nothing when it was
    cancelled or moved (改约) meanwhile or the patient has already checked in."""
    if not await timer_is_current(session, payload):
        return
    found = (
        await session.execute(
            select(Appointment, Slot)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(Appointment.id == payload["appointment_id"])
        )
    ).first()
    if found is None or found[0].status != "confirmed":
        return
    appointment, slot = found
    if await session.scalar(select(Visit.id).where(Visit.appointment_id == appointment.id)):
        return
    await notify(
        session,
        actor,
        account_id=appointment.account_id,
        kind="appointment",
        title="Appointment reminder",
        body="Your appointment is at {time}. Please check in when you arrive.",
        sms_text="Your appointment is at {time}. Please check in when you arrive.",
        link="/appointments",
        fields={"time": local_label(slot.starts_at)},
    )


@handles(NO_SHOW_TOPIC)
async def handle_no_show_check(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """After the session: an appointment never checked in becomes a no-show (unless it was
    moved to another time meanwhile)."""
    if not await timer_is_current(session, payload):
        return
    await record_missed_visit(session, actor, appointment_id=payload["appointment_id"])
