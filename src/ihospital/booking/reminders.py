"""Durable timers of a confirmed appointment: the reminders and the no-show check.

Reminders (站内信 and SMS) go out the day before at 18:00 Asia/Shanghai and one hour before the
slot. A reminder whose moment has already passed when the appointment is confirmed goes out at
once, except that only the hour-before reminder is sent when that one is due as well (a booking
within the last hour), so the patient never gets two at once. After the session (and the slot's
check-in window) has ended, the no-show check records a no-show for an appointment never checked
in. The handlers (``dayof_tasks.py``) look at the appointment again when they fire, so a
cancellation in between silences them; after a 改约 the timers of the new time are written anew
and those of the earlier time, no longer current (:func:`timer_is_current`), stay silent.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.models import Appointment, Reschedule, ScheduleSession, Slot
from ihospital.booking.rules import Rules, local_moment, rules_of
from ihospital.core.clock import to_local
from ihospital.core.context import Actor
from ihospital.outbox.service import KeyedEvent, emit_keyed

REMINDER_TOPIC = "booking.reminder"
NO_SHOW_TOPIC = "booking.no_show_check"
DAY_BEFORE_AT = time(18, 0)
HOUR_BEFORE = timedelta(hours=1)


def reminder_moments(slot_start: datetime, now: datetime) -> dict[str, datetime]:
    """When each reminder of a slot starting at ``slot_start`` goes out, for a booking at
    ``now``: ``day_before`` and ``hour_before``."""
    hour_before = slot_start - HOUR_BEFORE
    if hour_before <= now:
        return {"hour_before": now}
    day_before = local_moment(to_local(slot_start).date() - timedelta(days=1), DAY_BEFORE_AT)
    return {"day_before": max(day_before, now), "hour_before": hour_before}


async def schedule_appointment_timers(
    session: AsyncSession,
    actor: Actor,
    *,
    appointment: Appointment,
    slot: Slot,
    schedule: ScheduleSession,
    reschedule_id: int | None = None,
    rules: Rules | None = None,
) -> None:
    """Called once an appointment is made, and again by each 改约 (``reschedule_id``): write its
    reminder timers and its no-show check to the outbox. Keyed by appointment and move, so
    calling it again adds nothing. ``rules``: the institution's, if the caller has read them."""
    placed = {} if reschedule_id is None else {"reschedule_id": reschedule_id}
    moved = "" if reschedule_id is None else f":moved:{reschedule_id}"
    timers = [
        KeyedEvent(
            topic=REMINDER_TOPIC,
            payload={"appointment_id": appointment.id, "which": which, **placed},
            available_at=at,
            dedupe_key=f"{REMINDER_TOPIC}:{appointment.id}:{which}{moved}",
        )
        for which, at in reminder_moments(slot.starts_at, actor.clock.now()).items()
    ]
    rules = rules or await rules_of(session, schedule.institution_id)
    check_in_closes = slot.starts_at + timedelta(minutes=rules.check_in_closes_minutes)
    timers.append(
        KeyedEvent(
            topic=NO_SHOW_TOPIC,
            payload={"appointment_id": appointment.id, **placed},
            available_at=max(schedule.ends_at, check_in_closes),
            dedupe_key=f"{NO_SHOW_TOPIC}:{appointment.id}{moved}",
        )
    )
    await emit_keyed(session, actor, timers)


async def timer_is_current(session: AsyncSession, payload: dict[str, Any]) -> bool:
    """Whether a timer was written for the appointment's current time: by its last 改约, or by
    its booking when it was never moved."""
    latest = await session.scalar(
        select(func.max(Reschedule.id)).where(
            Reschedule.appointment_id == payload["appointment_id"]
        )
    )
    return payload.get("reschedule_id") == latest
