"""Pages of the waitlist (候补): join a full session from the doctor's schedule (or a
vaccination's or check-up's calendar), see the account's entries with their status, and leave
one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.availability import open_session
from ihospital.booking.page_support import public_doctors, session_provider
from ihospital.booking.resources import resources_by_id
from ihospital.booking.schemas import WaitlistJoin
from ihospital.booking.waitlist import (
    join_waitlist,
    leave_waitlist,
    list_waitlist,
    waitlist_sessions,
)
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import form_text
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.identity.patients import list_patients
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Booker = Annotated[Actor, Depends(require(Permission.APPOINTMENTS_OWN))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
JOIN_FIELDS = ("session_id", "patient_id")


@router.get("/waitlist")
async def my_waitlist_page(request: Request, session: DbSession, actor: Booker) -> Response:
    """The account's waitlist entries, newest first, with their status and the doctor or the
    service waited for; leave while waiting."""
    entries = await list_waitlist(session, actor)
    schedules = await waitlist_sessions(session, entries)
    doctors = await public_doctors(
        session,
        actor,
        (row.practitioner_id for row in schedules.values() if row.practitioner_id is not None),
    )
    resources = await resources_by_id(
        session, {row.resource_id for row in schedules.values() if row.resource_id is not None}
    )
    patients = {patient.id: patient for patient in await list_patients(session, actor)}
    rows = []
    for entry in entries:
        schedule = schedules[entry.session_id]
        rows.append(
            {
                "entry": entry,
                "schedule": schedule,
                "doctor": doctors.get(schedule.practitioner_id),
                "resource": resources.get(schedule.resource_id),
            }
        )
    context = {"rows": rows, "patients": patients}
    return render(request, "booking/waitlist.html", context)


async def _join_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    session_id: int,
    values: dict[str, str],
    state: FormState,
) -> Response:
    offered = await open_session(session, actor, session_id=session_id)
    schedule = offered.view.session
    context = {
        "offered": offered,
        **await session_provider(session, actor, schedule),
        "patients": await list_patients(session, actor),
        "values": values,
        **state.context(),
    }
    return render(request, "booking/waitlist_join.html", context, status_code=state.status_code)


@router.get("/waitlist/new")
async def join_page(
    request: Request,
    session: DbSession,
    actor: Booker,
    session_id: Annotated[int, Query(ge=1, le=2**63 - 1)],
) -> Response:
    """候补 for a full session of a doctor or of a vaccination or check-up: the session and the
    就诊人 to wait for a place."""
    return await _join_page(
        request, session, actor, session_id=session_id, values={}, state=FormState()
    )


@router.post("/waitlist/new", dependencies=CSRF)
async def join_submit(request: Request, session: DbSession, actor: Booker) -> Response:
    """Join the waitlist; a refusal (places still free, a booking rule) shows on the page."""
    values = await form_text(request, JOIN_FIELDS)
    form, state = parse_form(WaitlistJoin, values)
    if form is None and "session_id" in state.errors:
        raise NotFound("booking.session_not_found", "This session does not exist.")
    if form is not None:
        try:
            async with session.begin_nested():  # a refusal leaves nothing behind
                await join_waitlist(
                    session,
                    actor,
                    session_id=form.session_id,
                    patient_id=form.patient_id,
                    slot_id=None,
                )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=JOIN_FIELDS)
        else:
            response = RedirectResponse("/waitlist", status_code=303)
            flash(
                request, response, "You are on the waitlist; we will tell you when a place frees."
            )
            return response
    return await _join_page(
        request,
        session,
        actor,
        session_id=int(values["session_id"]),
        values=values,
        state=state,
    )


@router.post("/waitlist/{entry_id}/leave", dependencies=CSRF)
async def leave_submit(
    entry_id: RecordId, request: Request, session: DbSession, actor: Booker
) -> Response:
    """Stop waiting (another account's entry is not found)."""
    response = RedirectResponse("/waitlist", status_code=303)
    try:
        async with session.begin_nested():  # a refusal leaves nothing behind
            await leave_waitlist(session, actor, entry_id=entry_id)
    except NotFound:
        raise
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, "You have left the waitlist.")
    return response
