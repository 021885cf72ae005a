"""The day of a vaccination or check-up (疫苗接种 / 体检): no doctor keeps these sessions, so the
institution's nurses and admins see the day list of its services' sessions — each confirmed
appointment with its check-in state and queue number — and mark attendance, by the rules of a
doctor's day list (:mod:`ihospital.booking.dayof`); a no-show counts towards the no-show rule
exactly as a doctor's does.

Only staff of the institution itself: another institution's staff are refused and its
appointments are not found. Nurses, who give the vaccination or run the check-up, see the full
names; admins see them masked.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.dayof import DaySession, VisitView, close_visit, day_sessions
from ihospital.booking.models import Appointment, ScheduleSession
from ihospital.core.context import Actor
from ihospital.directory.access import get_institution_row
from ihospital.errors import Forbidden
from ihospital.security.permissions import Role

# the staff who give the vaccination or run the check-up, and so see the patients' full names
TREATING_ROLES = frozenset({Role.NURSE})


async def _own_institution(session: AsyncSession, actor: Actor, institution_id: int) -> None:
    """Refuse (403) staff of another institution; a missing institution is not found."""
    await get_institution_row(session, institution_id)
    if actor.institution_id != institution_id:
        raise Forbidden(
            "booking.not_your_institution",
            "You see the services of your own institution only.",
        )


async def service_day(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    day: date | None = None,
    resource_id: int | None = None,
) -> list[DaySession]:
    """The sessions of the institution's vaccinations and check-ups (or of one, ``resource_id``)
    on ``day`` (today in Asia/Shanghai by default) with their confirmed appointments in window
    order, the status, check-in and queue number of each and the patient's name, sex and age
    (masked for admins). The read is audited."""
    await _own_institution(session, actor, institution_id)
    statement = select(ScheduleSession).where(
        ScheduleSession.institution_id == institution_id,
        ScheduleSession.resource_id.is_not(None),
        ScheduleSession.day == (day or actor.clock.today_local()),
    )
    if resource_id is not None:
        statement = statement.where(ScheduleSession.resource_id == resource_id)
    schedules = (await session.scalars(statement.order_by(ScheduleSession.starts_at))).all()
    return await day_sessions(
        session,
        actor,
        schedules,
        subject_type="institution",
        subject_id=institution_id,
        masked=actor.role not in TREATING_ROLES,
    )


async def mark_service_attendance(
    session: AsyncSession, actor: Actor, *, institution_id: int, appointment_id: int, outcome: str
) -> VisitView:
    """Mark a confirmed vaccination or check-up appointment of the institution attended or a
    no-show (a doctor's appointment or another institution's is not found), by the rules of
    :func:`ihospital.booking.dayof.close_visit`."""
    await _own_institution(session, actor, institution_id)
    return await close_visit(
        session,
        actor,
        Appointment.id == appointment_id,
        Appointment.institution_id == institution_id,
        Appointment.resource_id.is_not(None),
        outcome=outcome,
    )
