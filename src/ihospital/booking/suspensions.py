"""The no-show rule (爽约): 3 no-shows within 90 days suspend online booking for that 就诊人 for
90 days.

The thresholds are platform constants (the institution's booking rules do not hold them). No-shows
and suspensions count per institution: the no-shows recorded at one institution suspend booking
there. A no-show counts from when it was recorded; no-shows already counted towards one
suspension never count towards another, and none is started while one is running.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.dayof_models import BookingSuspension, Visit
from ihospital.booking.models import Appointment
from ihospital.core.clock import to_local
from ihospital.core.context import Actor
from ihospital.errors import Conflict

NO_SHOW_LIMIT = 3
NO_SHOW_WINDOW = timedelta(days=90)
SUSPENSION_LENGTH = timedelta(days=90)


async def _latest_suspension(
    session: AsyncSession, *, patient_id: int, institution_id: int
) -> BookingSuspension | None:
    return await session.scalar(
        select(BookingSuspension)
        .where(
            BookingSuspension.patient_id == patient_id,
            BookingSuspension.institution_id == institution_id,
        )
        .order_by(BookingSuspension.ends_at.desc())
        .limit(1)
    )


async def ensure_booking_allowed(
    session: AsyncSession, *, patient_id: int, institution_id: int, now: datetime
) -> None:
    """Refuse (409) a booking for a 就诊人 whose online booking here is suspended, naming the
    local day the suspension ends."""
    latest = await _latest_suspension(session, patient_id=patient_id, institution_id=institution_id)
    if latest is not None and latest.starts_at <= now < latest.ends_at:
        raise Conflict(
            "booking.suspended",
            "Online booking for this patient is suspended until {until} after {count} missed "
            "appointments.",
            until=to_local(latest.ends_at).date().isoformat(),
            count=latest.no_show_count,
            suspended_until=latest.ends_at.isoformat(),
        )


async def apply_no_show_rule(
    session: AsyncSession, actor: Actor, *, appointment: Appointment
) -> BookingSuspension | None:
    """After ``appointment`` was recorded as a no-show: suspend online booking of its 就诊人 at
    its institution when that makes :data:`NO_SHOW_LIMIT` within :data:`NO_SHOW_WINDOW` (audited).
    """
    now = actor.clock.now()
    latest = await _latest_suspension(
        session, patient_id=appointment.patient_id, institution_id=appointment.institution_id
    )
    if latest is not None and latest.ends_at > now:
        return None
    since = now - NO_SHOW_WINDOW
    if latest is not None:
        since = max(since, latest.starts_at)
    no_shows = (
        await session.scalar(
            select(func.count(Visit.id))
            .join(Appointment, Appointment.id == Visit.appointment_id)
            .where(
                Appointment.patient_id == appointment.patient_id,
                Appointment.institution_id == appointment.institution_id,
                Visit.outcome == "no_show",
                Visit.outcome_at > since,
            )
        )
        or 0
    )
    if no_shows < NO_SHOW_LIMIT:
        return None
    suspension = BookingSuspension(
        patient_id=appointment.patient_id,
        institution_id=appointment.institution_id,
        appointment_id=appointment.id,
        no_show_count=no_shows,
        starts_at=now,
        ends_at=now + SUSPENSION_LENGTH,
    )
    session.add(suspension)
    await session.flush()
    await record(
        session,
        actor,
        action="booking.patient.suspend",
        subject_type="booking_suspension",
        subject_id=suspension.id,
        patient_id=appointment.patient_id,
        details={
            "institution_id": appointment.institution_id,
            "no_shows": no_shows,
            "ends_at": suspension.ends_at.isoformat(),
        },
    )
    return suspension
