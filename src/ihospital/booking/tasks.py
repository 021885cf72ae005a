"""Outbox handlers of booking: tell a patient their appointment was cancelled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.appointments import local_label
from ihospital.booking.schedules import APPOINTMENT_CANCELLED
from ihospital.core.context import Actor
from ihospital.notifications.service import notify
from ihospital.outbox.service import handles


@handles(APPOINTMENT_CANCELLED)
async def handle_cancelled(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A stopped session (停诊) cancelled the appointment: a 站内信 and an SMS to the account."""
    await notify(
        session,
        actor,
        account_id=payload["account_id"],
        kind="appointment",
        title="Your appointment was cancelled",
        body="The doctor's session at {time} was stopped; your appointment is cancelled.",
        sms_text="The doctor's session at {time} was stopped; your appointment is cancelled.",
        link="/api/appointments",
        fields={"time": local_label(datetime.fromisoformat(payload["starts_at"]))},
    )
