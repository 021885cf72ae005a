"""Moves of a consultation shared by the patient's, the doctor's and the timers' actions: load
and lock it, start waiting for the doctor (with the acceptance deadline), begin, cancel (with the
refund of a paid fee) and close.

Time limits: a doctor accepts within :data:`ACCEPT_HOURS` of the consultation's start of
waiting (a 视频 consultation with a booked time: by that time); one in progress with no activity
for :data:`INACTIVITY_HOURS` is closed. Both are durable outbox timers; a timer that finds the
consultation moved on does nothing, so an earlier one never acts on a later deadline.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.campaigns.places import give_back_place
from ihospital.consultation.chat_store import post_notice
from ihospital.consultation.events import CANCELLED, CLOSED, transition
from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound
from ihospital.outbox.service import emit

ACCEPT_HOURS = 24  # DOMAIN.md: reply time limit, default 24 h for 图文
INACTIVITY_HOURS = 48
ACCEPT_TOPIC = "consultation.accept_deadline"
INACTIVITY_TOPIC = "consultation.inactivity_check"
REFUND_TOPIC = "consultation.refund"
VOID_TOPIC = "consultation.void_fee"


def not_found(consultation_id: int) -> NotFound:
    return NotFound(
        "consultation.not_found",
        "Consultation {consultation_id} was not found.",
        consultation_id=consultation_id,
    )


def wrong_status(consultation: Consultation) -> Conflict:
    return Conflict(
        "consultation.wrong_status",
        "This consultation is {status}; this cannot be done now.",
        status=consultation.status,
    )


async def locked_consultation(session: AsyncSession, consultation_id: int) -> Consultation | None:
    """The consultation, locked (PostgreSQL) and read afresh: its moves are serialised."""
    return await session.scalar(
        select(Consultation)
        .where(Consultation.id == consultation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def locked_consultations(
    session: AsyncSession, consultation_ids: Collection[int]
) -> dict[int, Consultation]:
    """The consultations by id, locked (PostgreSQL) and read afresh, in one query, for work
    that moves several at once (the chat's batched sends). Rows are locked in ascending id
    order, so two such batches that share consultations queue rather than deadlock."""
    if not consultation_ids:
        return {}
    rows = await session.scalars(
        select(Consultation)
        .where(Consultation.id.in_(set(consultation_ids)))
        .order_by(Consultation.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {consultation.id: consultation for consultation in rows}


def accept_deadline(consultation: Consultation, now: datetime) -> datetime:
    """When the doctor must have accepted: the booked time of a 视频 consultation still ahead,
    else :data:`ACCEPT_HOURS` from now."""
    if consultation.scheduled_at is not None and consultation.scheduled_at > now:
        return consultation.scheduled_at
    return now + timedelta(hours=ACCEPT_HOURS)


async def begin_waiting(session: AsyncSession, actor: Actor, consultation: Consultation) -> None:
    """Put the consultation in the doctor's queue and arm the acceptance deadline (a new doctor
    after a transfer gets a new one)."""
    now = actor.clock.now()
    consultation.status = "waiting"
    consultation.waiting_since = now
    consultation.accept_by = accept_deadline(consultation, now)
    consultation.accepted_at = None
    await emit(
        session,
        actor,
        topic=ACCEPT_TOPIC,
        payload={"consultation_id": consultation.id},
        available_at=consultation.accept_by,
        dedupe_key=f"{ACCEPT_TOPIC}:{consultation.id}:{consultation.accept_by.isoformat()}",
    )


async def arm_inactivity(session: AsyncSession, actor: Actor, consultation: Consultation) -> None:
    """The check that closes the consultation after :data:`INACTIVITY_HOURS` without activity."""
    due = consultation.last_activity_at + timedelta(hours=INACTIVITY_HOURS)
    await emit(
        session,
        actor,
        topic=INACTIVITY_TOPIC,
        payload={"consultation_id": consultation.id},
        available_at=due,
        dedupe_key=f"{INACTIVITY_TOPIC}:{consultation.id}:{due.isoformat()}",
    )


async def cancel(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, reason: str
) -> None:
    """Cancel a consultation that has not begun; a paid fee is refunded after commit, an unpaid
    bill is cancelled after commit (unless its lapse is what cancelled the consultation); a 义诊
    place is free again."""
    consultation.status = "cancelled"
    consultation.cancel_reason = reason
    consultation.ended_at = actor.clock.now()
    consultation.accept_by = None
    await give_back_place(session, consultation)
    await transition(session, actor, consultation, topic=CANCELLED, reason=reason)
    if consultation.paid_at is not None:
        await refund_later(session, actor, consultation=consultation)
    elif consultation.order_id is not None and reason != "unpaid":
        await _about_the_fee(session, actor, consultation, topic=VOID_TOPIC)


async def close(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    *,
    reason: str,
    advice: str | None,
) -> None:
    """Close a consultation in progress (by the doctor, or after inactivity)."""
    consultation.status = "closed"
    consultation.close_reason = reason
    consultation.advice = advice
    consultation.ended_at = actor.clock.now()
    await transition(session, actor, consultation, topic=CLOSED, reason=reason)
    await post_notice(session, actor, consultation, notice="closed")


async def refund_later(session: AsyncSession, actor: Actor, *, consultation: Consultation) -> None:
    """Have the fee of a paid, now cancelled consultation refunded after commit (once)."""
    await _about_the_fee(session, actor, consultation, topic=REFUND_TOPIC)


async def _about_the_fee(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, topic: str
) -> None:
    """Have billing act on the fee's order after commit, once per consultation and ``topic``."""
    await emit(
        session,
        actor,
        topic=topic,
        payload={"consultation_id": consultation.id, "order_id": consultation.order_id},
        dedupe_key=f"{topic}:{consultation.id}",
    )


async def close_reason_of(session: AsyncSession, consultation_id: int) -> str | None:
    """How the consultation was closed (``doctor``, ``in_person`` (R02), ``inactivity``), or
    None while it is not closed."""
    return await session.scalar(
        select(Consultation.close_reason).where(Consultation.id == consultation_id)
    )
