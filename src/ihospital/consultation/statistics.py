"""Response-time statistics of a doctor's consultations (接诊响应时间统计), for their workstation.

Over the last 7 and 30 days, counted in Asia/Shanghai days (today and the days before it):

- ``accepted``: consultations the doctor accepted in the period;
- ``accept_median`` / ``accept_p90``: time from entering the doctor's queue (``waiting_since``)
  to acceptance, median and 90th percentile (nearest rank);
- ``first_reply_median``: time from entering the queue to the doctor's first message in the
  chat, over the accepted consultations the doctor has answered;
- ``within_limit_share``: share of the accepted consultations accepted by their deadline
  (:data:`ACCEPT_HOURS` after entering the queue, or the booked time of a 视频 consultation);
- ``closed``: consultations of the doctor closed in the period.

One query reads the period's consultations with their first reply (a grouped join, no query per
consultation); the medians are taken in Python so that SQLite and PostgreSQL agree. A doctor
sees only their own figures; they hold no health data, so reading them is not audited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.models import Consultation
from ihospital.consultation.states import ACCEPT_HOURS
from ihospital.core.clock import SHANGHAI
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner

PERIODS = (7, 30)


@dataclass(frozen=True)
class PeriodStatistics:
    """The figures of one period (see the module's docstring); durations are None when there
    is nothing to measure."""

    days: int
    since: datetime
    accepted: int
    accept_median: timedelta | None
    accept_p90: timedelta | None
    first_reply_median: timedelta | None
    within_limit_share: float | None
    closed: int


@dataclass(frozen=True)
class _Row:
    waiting_since: datetime | None
    accepted_at: datetime | None
    scheduled_at: datetime | None
    first_reply_at: datetime | None
    status: str
    ended_at: datetime | None


def period_start(now: datetime, days: int) -> datetime:
    """The start (an aware UTC instant) of the last ``days`` Shanghai days, today included."""
    first_day = now.astimezone(SHANGHAI).date() - timedelta(days=days - 1)
    return datetime.combine(first_day, time(), tzinfo=SHANGHAI).astimezone(now.tzinfo)


def percentile(values: list[timedelta], share: float) -> timedelta | None:
    """The nearest-rank percentile of ``values`` (``share`` 0.5 is the lower median)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def seconds(duration: timedelta | None) -> int | None:
    """A duration in whole seconds (for the API)."""
    return None if duration is None else int(duration.total_seconds())


def _within_limit(row: _Row) -> bool:
    assert row.waiting_since is not None and row.accepted_at is not None
    deadline = row.waiting_since + timedelta(hours=ACCEPT_HOURS)
    if row.scheduled_at is not None:
        deadline = max(deadline, row.scheduled_at)
    return row.accepted_at <= deadline


def _period(rows: list[_Row], days: int, since: datetime) -> PeriodStatistics:
    accepted = [
        row
        for row in rows
        if row.accepted_at is not None and row.waiting_since is not None
        if row.accepted_at >= since
    ]
    waits = [row.accepted_at - row.waiting_since for row in accepted]  # type: ignore[operator]
    replies = [
        row.first_reply_at - row.waiting_since  # type: ignore[operator]
        for row in accepted
        if row.first_reply_at is not None
    ]
    closed = sum(
        1 for row in rows if row.status == "closed" and row.ended_at and row.ended_at >= since
    )
    return PeriodStatistics(
        days=days,
        since=since,
        accepted=len(accepted),
        accept_median=percentile(waits, 0.5),
        accept_p90=percentile(waits, 0.9),
        first_reply_median=percentile(replies, 0.5),
        within_limit_share=(
            sum(map(_within_limit, accepted)) / len(accepted) if accepted else None
        ),
        closed=closed,
    )


async def response_statistics(
    session: AsyncSession, actor: Actor, *, periods: tuple[int, ...] = PERIODS
) -> list[PeriodStatistics]:
    """The signed-in doctor's response-time figures over each of ``periods`` (days), from one
    query over the longest period."""
    doctor = await own_practitioner(session, actor)
    now = actor.clock.now()
    since = period_start(now, max(periods))
    first_reply = (
        select(
            ConsultationMessage.consultation_id,
            func.min(ConsultationMessage.created_at).label("first_reply_at"),
        )
        .where(
            ConsultationMessage.sender_role == "doctor",
            ConsultationMessage.sender_account_id == actor.account_id,
            ConsultationMessage.created_at >= since,
        )
        .group_by(ConsultationMessage.consultation_id)
        .subquery()
    )
    result = await session.execute(
        select(
            Consultation.waiting_since,
            Consultation.accepted_at,
            Consultation.scheduled_at,
            first_reply.c.first_reply_at,
            Consultation.status,
            Consultation.ended_at,
        )
        .outerjoin(first_reply, first_reply.c.consultation_id == Consultation.id)
        .where(
            Consultation.practitioner_id == doctor.id,
            or_(
                Consultation.accepted_at >= since,
                and_(Consultation.status == "closed", Consultation.ended_at >= since),
            ),
        )
    )
    rows = [_Row(*row) for row in result.all()]
    return [_period(rows, days, period_start(now, days)) for days in periods]
