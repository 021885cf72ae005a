"""What the consultation timers do when they fire (handlers in :mod:`.tasks`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.states import (
    INACTIVITY_HOURS,
    arm_inactivity,
    cancel,
    close,
    locked_consultation,
)
from ihospital.core.context import Actor


async def expire_unaccepted(session: AsyncSession, actor: Actor, *, consultation_id: int) -> None:
    """No doctor accepted in time: the consultation is cancelled (``not_accepted``) and a paid
    fee refunded. A consultation accepted, cancelled or given a later deadline (a transfer)
    meanwhile is left alone."""
    consultation = await locked_consultation(session, consultation_id)
    if (
        consultation is None
        or consultation.status != "waiting"
        or consultation.accept_by is None
        or consultation.accept_by > actor.clock.now()
    ):
        return
    await cancel(session, actor, consultation, reason="not_accepted")


async def close_inactive(session: AsyncSession, actor: Actor, *, consultation_id: int) -> None:
    """Close a consultation in progress with no activity for the inactivity limit; one active
    since the timer was armed gets a new check at its new limit."""
    consultation = await locked_consultation(session, consultation_id)
    if consultation is None or consultation.status != "in_progress":
        return
    if consultation.last_activity_at + timedelta(hours=INACTIVITY_HOURS) > actor.clock.now():
        await arm_inactivity(session, actor, consultation)
        return
    await close(session, actor, consultation, reason="inactivity", advice=None)
