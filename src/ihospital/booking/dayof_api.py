"""JSON routes of the day of the visit: a patient checks in (签到); a doctor reads the day list
of their own sessions and marks attendance, the institution's nurses and admins those of its
vaccinations and check-ups; an institution admin lists no-shows (爽约) and lifts a booking
suspension early."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from ihospital.booking.dayof import check_in, doctor_day, mark_attendance
from ihospital.booking.dayof_schemas import (
    AttendanceSet,
    DaySessionRead,
    NoShowRead,
    SuspensionLift,
    SuspensionRead,
    VisitRead,
)
from ihospital.booking.service_day import mark_service_attendance, service_day
from ihospital.booking.suspensions import lift_suspension, no_show_list
from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["booking"])

Booker = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_ATTEND))]
Scheduler = Annotated[Actor, Depends(require(Permission.SCHEDULES_MANAGE))]
ServiceStaff = Annotated[Actor, Depends(require(Permission.SERVICES_ATTEND))]
AppointmentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
SuspensionId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/appointments/{appointment_id}/check-in")
async def check_in_appointment(
    appointment_id: AppointmentId, session: DbSession, actor: Booker
) -> VisitRead:
    """签到 within the check-in window around the slot; answers the queue number (order of
    check-in in the session). Outside the window: 409 naming the window."""
    return VisitRead.of(await check_in(session, actor, appointment_id=appointment_id))


@router.get("/doctor/day")
async def doctor_day_list(
    session: DbSession, actor: Doctor, day: Annotated[date | None, Query()] = None
) -> list[DaySessionRead]:
    """The signed-in doctor's sessions of ``day`` (default today) with each appointment's
    status (expected, late, absent, checked_in, attended or no_show) and the patient's name,
    sex and age; an audited read of health data."""
    return [DaySessionRead.of(listed) for listed in await doctor_day(session, actor, day=day)]


@router.post("/doctor/appointments/{appointment_id}/attendance")
async def mark_appointment_attendance(
    appointment_id: AppointmentId, body: AttendanceSet, session: DbSession, actor: Doctor
) -> VisitRead:
    """Mark an appointment of one's own sessions as attended (ends the visit) or no-show."""
    view = await mark_attendance(
        session, actor, appointment_id=appointment_id, outcome=body.outcome
    )
    return VisitRead.of(view)


@router.get("/institutions/{institution_id}/service-day")
async def service_day_list(
    institution_id: InstitutionId,
    session: DbSession,
    actor: ServiceStaff,
    day: Annotated[date | None, Query()] = None,
    resource_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[DaySessionRead]:
    """The sessions of the institution's vaccinations and check-ups (or one's, ``resource_id``)
    of ``day`` (default today) with each appointment's status, check-in and queue number and the
    patient's name (masked for admins), sex and age; staff of the institution only, an audited
    read of health data."""
    listed = await service_day(
        session, actor, institution_id=institution_id, day=day, resource_id=resource_id
    )
    return [DaySessionRead.of(day_session) for day_session in listed]


@router.post("/institutions/{institution_id}/service-day/appointments/{appointment_id}/attendance")
async def mark_service_appointment_attendance(
    institution_id: InstitutionId,
    appointment_id: AppointmentId,
    body: AttendanceSet,
    session: DbSession,
    actor: ServiceStaff,
) -> VisitRead:
    """Mark a vaccination or check-up appointment of the institution attended (ends the visit)
    or a no-show; a doctor's appointment or another institution's is not found."""
    view = await mark_service_attendance(
        session,
        actor,
        institution_id=institution_id,
        appointment_id=appointment_id,
        outcome=body.outcome,
    )
    return VisitRead.of(view)


@router.get("/institutions/{institution_id}/no-shows")
async def institution_no_shows(
    institution_id: InstitutionId, session: DbSession, actor: Scheduler
) -> list[NoShowRead]:
    """就诊人 with no-shows here in the last 90 days or a running booking suspension, most
    no-shows first; names masked."""
    rows = await no_show_list(session, actor, institution_id=institution_id)
    return [NoShowRead.of(row) for row in rows]


@router.post("/institutions/{institution_id}/booking-suspensions/{suspension_id}/lift")
async def lift_booking_suspension(
    institution_id: InstitutionId,
    suspension_id: SuspensionId,
    body: SuspensionLift,
    session: DbSession,
    actor: Scheduler,
) -> SuspensionRead:
    """End a running suspension early, with the reason; 409 when it is no longer running."""
    suspension = await lift_suspension(
        session,
        actor,
        institution_id=institution_id,
        suspension_id=suspension_id,
        reason=body.reason,
    )
    return SuspensionRead.model_validate(suspension)
