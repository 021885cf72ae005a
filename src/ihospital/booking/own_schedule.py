"""A doctor's own schedule: their sessions at every institution they practise at, and where
they may schedule themselves (institutions whose booking rules allow it). Creating and stopping
go through :func:`.schedules.create_sessions` and :func:`.schedules.stop_session`, which decide
who may (:mod:`.schedulers`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.models import ScheduleSession
from ihospital.booking.rules import rules_of
from ihospital.booking.schedules import SessionView, session_views, stop_session
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner
from ihospital.directory.views import PractitionerView, SiteView, practitioner_view
from ihospital.errors import NotFound


def session_not_found() -> NotFound:
    return NotFound("booking.session_not_found", "This session does not exist.")


async def own_sessions(
    session: AsyncSession, actor: Actor, *, start: date, until: date
) -> list[SessionView]:
    """The signed-in doctor's sessions from ``start`` to ``until`` at every institution, by
    time."""
    doctor = await own_practitioner(session, actor)
    rows = (
        await session.scalars(
            select(ScheduleSession)
            .where(
                ScheduleSession.practitioner_id == doctor.id,
                ScheduleSession.day >= start,
                ScheduleSession.day <= until,
            )
            .order_by(ScheduleSession.starts_at)
        )
    ).all()
    return await session_views(session, rows)


async def own_session(session: AsyncSession, actor: Actor, *, session_id: int) -> SessionView:
    """One of the signed-in doctor's sessions (anyone else's is not found)."""
    doctor = await own_practitioner(session, actor)
    row = await session.scalar(
        select(ScheduleSession).where(
            ScheduleSession.id == session_id, ScheduleSession.practitioner_id == doctor.id
        )
    )
    if row is None:
        raise session_not_found()
    return (await session_views(session, [row]))[0]


async def self_scheduling(
    session: AsyncSession, actor: Actor
) -> tuple[PractitionerView, list[SiteView]]:
    """The signed-in doctor and their practice sites at institutions that let doctors schedule
    themselves."""
    doctor = await practitioner_view(
        session, actor, practitioner=await own_practitioner(session, actor)
    )
    allowed = {
        institution_id
        for institution_id in {site.institution.id for site in doctor.sites}
        if (await rules_of(session, institution_id)).doctors_may_schedule
    }
    return doctor, [site for site in doctor.sites if site.institution.id in allowed]


async def stop_own_session(session: AsyncSession, actor: Actor, *, session_id: int) -> SessionView:
    """停诊 of a session by its doctor, where the institution lets doctors schedule themselves
    (another doctor's session is refused, 403)."""
    institution_id = await session.scalar(
        select(ScheduleSession.institution_id).where(ScheduleSession.id == session_id)
    )
    if institution_id is None:
        raise session_not_found()
    return await stop_session(session, actor, institution_id=institution_id, session_id=session_id)
