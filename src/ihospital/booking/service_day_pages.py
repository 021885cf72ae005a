"""Pages of the day of a vaccination or check-up for the institution's nurses and admins: the
day list of its services' sessions (today, or another day they pick) with each patient's status,
check-in and queue number, the next to call (叫号) highlighted, and attendance marked in place —
the doctor's day list (:mod:`ihospital.booking.dayof_pages`) for sessions no doctor keeps."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.dayof import VisitView
from ihospital.booking.dayof_pages import REFRESH_SECONDS, attendance_response
from ihospital.booking.resources import resources_by_id
from ihospital.booking.service_day import mark_service_attendance, service_day
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.errors import Forbidden
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
ServiceStaff = Annotated[Actor, Depends(require(Permission.SERVICES_ATTEND))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PAGE = "/staff/service-day"


def _institution_of(actor: Actor) -> int:
    if actor.institution_id is None:  # staff accounts always have one
        raise Forbidden(
            "booking.not_your_institution", "You see the services of your own institution only."
        )
    return actor.institution_id


async def _day_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    day: date,
    notices: list[Notice],
    partial: bool,
) -> Response:
    sessions = await service_day(session, actor, institution_id=_institution_of(actor), day=day)
    resources = await resources_by_id(session, {listed.schedule.resource_id for listed in sessions})
    context = {
        "day": day,
        "today": actor.clock.today_local(),
        "sessions": sessions,
        "resources": resources,
        "day_notices": notices,
        "refresh_seconds": REFRESH_SECONDS,
        "list_path": PAGE,
    }
    template = "booking/_day_list.html" if partial else "booking/service_day.html"
    return render(request, template, context)


@router.get(PAGE)
async def service_day_page(
    request: Request,
    session: DbSession,
    actor: ServiceStaff,
    day: Annotated[date | None, Query()] = None,
) -> Response:
    """The institution's vaccination and check-up sessions of the day (today by default) in
    window order; the list alone when htmx polls it."""
    return await _day_page(
        request,
        session,
        actor,
        day=day or actor.clock.today_local(),
        notices=[],
        partial=request.headers.get("HX-Request") == "true",
    )


@router.post(PAGE + "/appointments/{appointment_id}/attendance", dependencies=CSRF)
async def service_attendance_submit(
    appointment_id: RecordId, request: Request, session: DbSession, actor: ServiceStaff
) -> Response:
    """Mark a vaccination or check-up appointment of the institution attended or a no-show (a
    doctor's or another institution's is not found). htmx gets the day list again with the
    outcome; a plain form goes back to it."""

    async def mark(outcome: str) -> VisitView:
        return await mark_service_attendance(
            session,
            actor,
            institution_id=_institution_of(actor),
            appointment_id=appointment_id,
            outcome=outcome,
        )

    async def day_list(day: date, notices: list[Notice]) -> Response:
        return await _day_page(request, session, actor, day=day, notices=notices, partial=True)

    return await attendance_response(
        request, session, actor, mark=mark, day_list=day_list, page=PAGE
    )
