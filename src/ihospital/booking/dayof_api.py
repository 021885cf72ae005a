"""JSON routes of the day of the visit: a patient checks in (签到); a doctor reads today's list
of their own sessions and marks attendance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from ihospital.booking.dayof import check_in, doctor_day, mark_attendance
from ihospital.booking.dayof_schemas import AttendanceSet, DaySessionRead, VisitRead
from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["booking"])

Booker = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_ATTEND))]
AppointmentId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/appointments/{appointment_id}/check-in")
async def check_in_appointment(
    appointment_id: AppointmentId, session: DbSession, actor: Booker
) -> VisitRead:
    """签到 within the check-in window around the slot; answers the queue number (order of
    check-in in the session). Outside the window: 409 naming the window."""
    return VisitRead.of(await check_in(session, actor, appointment_id=appointment_id))


@router.get("/doctor/day")
async def doctor_day_list(session: DbSession, actor: Doctor) -> list[DaySessionRead]:
    """Today's sessions of the signed-in doctor with each appointment's status: expected,
    late, absent, checked_in, attended or no_show."""
    return [DaySessionRead.of(day) for day in await doctor_day(session, actor)]


@router.post("/doctor/appointments/{appointment_id}/attendance")
async def mark_appointment_attendance(
    appointment_id: AppointmentId, body: AttendanceSet, session: DbSession, actor: Doctor
) -> VisitRead:
    """Mark an appointment of one's own sessions as attended (ends the visit) or no-show."""
    view = await mark_attendance(
        session, actor, appointment_id=appointment_id, outcome=body.outcome
    )
    return VisitRead.of(view)
