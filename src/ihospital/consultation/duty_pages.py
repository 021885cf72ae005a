"""The doctor's working session pages (出诊会话, R04): verify (password again) to begin it, end
it. The workstation shows the same form (:mod:`.doctor_pages`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.duty import current_work_session, end_work_session, start_work_session
from ihospital.consultation.duty_models import DoctorWorkSession
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.access import own_practitioner
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, refused
from ihospital.identity.policy import Policy
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]


async def work_session_of(session: AsyncSession, actor: Actor) -> DoctorWorkSession | None:
    """The signed-in doctor's working session valid now, for a page."""
    return await current_work_session(session, actor, await own_practitioner(session, actor))


async def _duty_page(
    request: Request, session: AsyncSession, actor: Actor, state: FormState | None = None
) -> Response:
    state = state or FormState()
    context: dict[str, Any] = {
        "work_session": await work_session_of(session, actor),
        "values": {},
        **state.context(),
    }
    return render(request, "consultation/doctor_duty.html", context, status_code=state.status_code)


@router.get("/doctor/work-session")
async def duty_page(request: Request, session: DbSession, actor: Doctor) -> Response:
    """The doctor's working session: until when it lasts, or the form to verify."""
    return await _duty_page(request, session, actor)


@router.post("/doctor/work-session", dependencies=CSRF)
async def duty_submit(
    request: Request, session: DbSession, actor: Doctor, policy: Policy
) -> Response:
    """Verify and begin the working session in this browser session; then the workstation. A
    refusal (a lockout too) shows by the password; what it counted is kept with the page."""
    password = str((await request.form()).get("password", ""))
    try:
        await start_work_session(session, actor, password=password, policy=policy)
    except AppError as error:
        return await _duty_page(request, session, actor, refused(error, fields=("password",)))
    response = RedirectResponse("/doctor/consultations", status_code=303)
    flash(request, response, "Your identity is verified; your working session has begun.")
    return response


@router.post("/doctor/work-session/end", dependencies=CSRF)
async def end_submit(request: Request, session: DbSession, actor: Doctor) -> Response:
    """End the working session now."""
    await end_work_session(session, actor)
    response = RedirectResponse("/doctor/work-session", status_code=303)
    flash(request, response, "Your working session has ended.")
    return response
