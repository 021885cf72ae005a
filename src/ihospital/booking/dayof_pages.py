"""Pages of the day of the visit.

Doctors: the day list of their own sessions (today, or another day they pick) with each
patient's name, sex, age, status and queue number, the next patient to call (叫号) highlighted,
attendance marked in place (htmx; a plain form without JavaScript), and a link to prescribe
(开处方) for each in-person visit open for it. Patients: 签到 from
"my appointments" inside the check-in window.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.dayof import VisitView, check_in, doctor_day, mark_attendance
from ihospital.booking.dayof_schemas import AttendanceSet
from ihospital.booking.schemas import slot_label
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import form_text
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import parse_form
from ihospital.prescribing.visits import prescribable_appointments
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Booker = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_ATTEND))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
REFRESH_SECONDS = 30


async def _day_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    day: date,
    notices: list[Notice],
    partial: bool,
) -> Response:
    sessions = await doctor_day(session, actor, day=day)
    context = {
        "prescribable": prescribable_appointments(sessions, actor.clock.now()),
        "day": day,
        "today": actor.clock.today_local(),
        "sessions": sessions,
        "day_notices": notices,
        "refresh_seconds": REFRESH_SECONDS,
        "list_path": "/doctor/day",
    }
    template = "booking/_day_list.html" if partial else "booking/doctor_day.html"
    return render(request, template, context)


@router.get("/doctor/day")
async def doctor_day_page(
    request: Request,
    session: DbSession,
    actor: Doctor,
    day: Annotated[date | None, Query()] = None,
) -> Response:
    """The doctor's own sessions of the day (today by default) in slot order; the list alone
    when htmx polls it."""
    return await _day_page(
        request,
        session,
        actor,
        day=day or actor.clock.today_local(),
        notices=[],
        partial=request.headers.get("HX-Request") == "true",
    )


@router.post("/doctor/day/appointments/{appointment_id}/attendance", dependencies=CSRF)
async def attendance_submit(
    appointment_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Mark a patient of one's own sessions attended or a no-show (another doctor's is not
    found). htmx gets the day list again with the outcome; a plain form goes back to it."""

    async def mark(outcome: str) -> VisitView:
        return await mark_attendance(session, actor, appointment_id=appointment_id, outcome=outcome)

    async def day_list(day: date, notices: list[Notice]) -> Response:
        return await _day_page(request, session, actor, day=day, notices=notices, partial=True)

    return await attendance_response(
        request, session, actor, mark=mark, day_list=day_list, page="/doctor/day"
    )


async def attendance_response(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    mark: Callable[[str], Awaitable[VisitView]],
    day_list: Callable[[date, list[Notice]], Awaitable[Response]],
    page: str,
) -> Response:
    """The answer to an attendance form of a day list: ``mark`` the outcome posted (a refusal
    leaves nothing behind and becomes a notice; not found stays 404), then for htmx the
    ``day_list`` of the day with the notice, else a redirect to the day's ``page``."""
    values = await form_text(request, ("outcome", "day"))
    form, _ = parse_form(AttendanceSet, {"outcome": values["outcome"]})
    try:
        day = date.fromisoformat(values["day"])
    except ValueError:
        day = actor.clock.today_local()
    if form is None:
        notice = Notice("Choose attended or no-show.", "error")
    else:
        try:
            async with session.begin_nested():  # a refusal leaves nothing behind
                view = await mark(form.outcome)
        except NotFound:
            raise
        except AppError as error:
            fields = {key: str(value) for key, value in error.fields.items()}
            notice = Notice(error.message, "error", fields)
        else:
            day = view.appointment.day
            done = {
                "attended": "The appointment at {time} is marked attended.",
                "no_show": "The appointment at {time} is marked as a no-show.",
            }[form.outcome]
            notice = Notice(done, "success", {"time": slot_label(view.slot)})
    if request.headers.get("HX-Request") == "true":
        return await day_list(day, [notice])
    response = RedirectResponse(f"{page}?day={day.isoformat()}", status_code=303)
    flash(request, response, notice.message, kind=notice.kind, **notice.fields)
    return response


@router.post("/appointments/{appointment_id}/check-in", dependencies=CSRF)
async def check_in_submit(
    appointment_id: RecordId, request: Request, session: DbSession, actor: Booker
) -> Response:
    """签到 for one of the account's appointments (another account's is not found); the queue
    number is shown on "my appointments", a refusal names the check-in window."""
    response = RedirectResponse(f"/appointments#appointment-{appointment_id}", status_code=303)
    try:
        async with session.begin_nested():  # a refusal leaves nothing behind
            view = await check_in(session, actor, appointment_id=appointment_id)
    except NotFound:
        raise
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(
        request,
        response,
        "Checked in: you are No. {number} in the queue. Please wait at the place shown.",
        number=view.visit.queue_number,
    )
    return response
