"""Pages of a doctor's own schedule: their sessions at every institution they practise at and,
where an institution lets its doctors schedule themselves, the admins' new-session form and 停诊
(with its confirm step) for their own sessions there."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.models import FEE_CLASSES, HALF_DAYS, VISIT_TYPES
from ihospital.booking.own_schedule import (
    own_session,
    own_sessions,
    self_scheduling,
    stop_own_session,
)
from ihospital.booking.page_support import practice_sites
from ihospital.booking.schedules import create_sessions
from ihospital.booking.session_form import EDITOR_DAYS, SESSION_FORM_FIELDS, session_form
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.access import own_practitioner
from ihospital.directory.pages_support import form_text, redirect_after
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, refused
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
SelfScheduler = Annotated[Actor, Depends(require(Permission.SCHEDULE_OWN))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
SITE_MESSAGE = "Choose where the session takes place."


async def _own_schedule_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    values: dict[str, Any] | None = None,
    state: FormState | None = None,
) -> Response:
    """The doctor's sessions of the next days and, at the institutions that let doctors schedule
    themselves, the new-session form (``values``/``state`` of a refused submit)."""
    state = state or FormState()
    today = actor.clock.today_local()
    views = await own_sessions(
        session, actor, start=today, until=today + timedelta(days=EDITOR_DAYS)
    )
    doctor, sites = await self_scheduling(session, actor)
    context = {
        "days": [
            (day, list(group))
            for day, group in itertools.groupby(views, key=lambda v: v.session.day)
        ],
        "places": practice_sites(doctor),
        "sites": sites,
        "allowed": {site.institution.id for site in sites},
        "half_days": HALF_DAYS,
        "visit_types": VISIT_TYPES,
        "fee_classes": FEE_CLASSES,
        "values": values or {"kind": "once", "day": str(today), "weekdays": []},
        "yuan": format_yuan,
        **state.context(),
    }
    return render(request, "booking/doctor_schedule.html", context, status_code=state.status_code)


@router.get("/doctor/schedule")
async def own_schedule_page(request: Request, session: DbSession, actor: SelfScheduler) -> Response:
    """The signed-in doctor's sessions of the next 30 days and, where allowed, the form to add
    their own."""
    return await _own_schedule_page(request, session, actor)


@router.post("/doctor/schedule/sessions", dependencies=CSRF)
async def own_session_submit(
    request: Request, session: DbSession, actor: SelfScheduler
) -> Response:
    """A doctor schedules themselves at one of their practice sites (``site``: institution and
    department) — the admins' new-session form and rules; refusals next to their fields."""
    doctor = await own_practitioner(session, actor)
    site = (await form_text(request, ("site",)))["site"]
    institution, _, department_code = site.partition("/")
    values, form, state = await session_form(
        request,
        fixed={"practitioner_id": str(doctor.id), "department_code": department_code},
    )
    values["site"] = site
    if form is not None and re.fullmatch(r"[0-9]{1,18}", institution) is None:
        form, state = None, FormState({"site": translate(SITE_MESSAGE)}, status_code=422)
    if form is not None:
        try:
            async with session.begin_nested():  # a refusal leaves nothing behind
                created = await create_sessions(
                    session,
                    actor,
                    institution_id=int(institution),
                    plan=form.plan(doctor.id),
                    days=form.days(),
                )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=SESSION_FORM_FIELDS)
        else:
            response = RedirectResponse("/doctor/schedule", status_code=303)
            flash(request, response, "{count} sessions were scheduled.", count=len(created))
            return response
    for field in ("department_code", "practitioner_id"):
        if field in state.errors:
            state.errors.setdefault("site", state.errors.pop(field))
    return await _own_schedule_page(request, session, actor, values=values, state=state)


@router.get("/doctor/schedule/sessions/{session_id}/stop")
async def own_stop_page(
    session_id: RecordId, request: Request, session: DbSession, actor: SelfScheduler
) -> Response:
    """停诊 of one's own session, the confirm step."""
    view = await own_session(session, actor, session_id=session_id)
    context = {"view": view, "base": "/doctor/schedule", "scope": "", "yuan": format_yuan}
    return render(request, "booking/admin_stop.html", context)


@router.post("/doctor/schedule/sessions/{session_id}/stop", dependencies=CSRF)
async def own_stop_submit(
    session_id: RecordId, request: Request, session: DbSession, actor: SelfScheduler
) -> Response:
    """停诊 of one's own session, where the institution allows doctors to schedule themselves."""
    return await redirect_after(
        request,
        "/doctor/schedule",
        stop_own_session(session, actor, session_id=session_id),
        lambda view: Notice(
            "The session of {day} was stopped; its patients are told.",
            "success",
            {"day": str(view.session.day)},
        ),
    )
