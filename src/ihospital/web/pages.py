"""Pages shared by all roles: home (landing or the role's home), language switch, 长辈模式."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.core.middleware import LANGUAGE_COOKIE
from ihospital.deps import DbSession, actor_for, check_csrf, optional_account, optional_actor
from ihospital.directory.practitioners import get_own_practitioner
from ihospital.errors import BadRequest, NotFound
from ihospital.identity.accounts import update_preferences
from ihospital.identity.models import Account
from ihospital.identity.patients import list_patients
from ihospital.security.permissions import Role
from ihospital.web.flash import flash
from ihospital.web.templating import ELDER_COOKIE, render

router = APIRouter(include_in_schema=False)

PREFERENCE_COOKIE_SECONDS = 365 * 24 * 3600
HOME_TEMPLATES = {
    "patient": "home/patient.html",
    "doctor": "home/doctor.html",
    "pharmacist": "home/pharmacist.html",
    "nurse": "home/nurse.html",
    "institution_admin": "home/institution_admin.html",
    "regulator": "home/regulator.html",
    "platform_admin": "home/platform_admin.html",
}

Language = Literal["zh-CN", "en"]
NextPath = Annotated[str, Form(max_length=2000)]


def local_path(target: str) -> str:
    """``target`` if it is a path on this site; refuses anything a browser could read as another
    host (``//host``, ``/\\host``, ``https://…``), so the switches are no open redirect."""
    parts = urlsplit(target)
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or parts.scheme
        or parts.netloc
        or any(ord(char) < 0x21 or ord(char) == 0x7F for char in target)
    ):
        raise BadRequest(
            "web.next_not_local", "The return address must be a page of this site.", field="next"
        )
    return target


def _remember(request: Request, response: RedirectResponse, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=PREFERENCE_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
    )


async def _home_context(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """What a role's home shows beside its links: a patient's 就诊人, a doctor's record."""
    if actor.role == Role.PATIENT:
        return {"patients": await list_patients(session, actor)}
    if actor.role == Role.DOCTOR:
        try:
            return {"practitioner": await get_own_practitioner(session, actor)}
        except NotFound:
            return {"practitioner": None}
    return {}


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request,
    session: DbSession,
    account: Annotated[Account | None, Depends(optional_account)],
) -> HTMLResponse:
    """Public: the landing page for visitors, the home of their role for signed-in users."""
    if account is None:
        return render(request, "home/landing.html")
    context = await _home_context(session, actor_for(request, account))
    return render(request, HOME_TEMPLATES[account.role], context)


@router.post("/language", dependencies=[Depends(check_csrf)])
async def switch_language(
    request: Request,
    session: DbSession,
    actor: Annotated[Actor, Depends(optional_actor)],
    language: Annotated[Language, Form()],
    next: NextPath = "/",
) -> RedirectResponse:
    """Public: choose zh-CN or English; kept in a cookie and, when signed in, on the account."""
    response = RedirectResponse(local_path(next), status_code=303)
    if not actor.is_anonymous:
        await update_preferences(session, actor, language=language)
    _remember(request, response, LANGUAGE_COOKIE, language)
    return response


@router.post("/elder-mode", dependencies=[Depends(check_csrf)])
async def switch_elder_mode(
    request: Request,
    session: DbSession,
    actor: Annotated[Actor, Depends(optional_actor)],
    elder_mode: Annotated[Literal["0", "1"], Form()],
    next: NextPath = "/",
) -> RedirectResponse:
    """Public: turn 长辈模式 on or off; kept on the account when signed in, and in a cookie."""
    response = RedirectResponse(local_path(next), status_code=303)
    enabled = elder_mode == "1"
    if not actor.is_anonymous:
        await update_preferences(session, actor, elder_mode=enabled)
    _remember(request, response, ELDER_COOKIE, elder_mode)
    if enabled:
        flash(
            request,
            response,
            "Elder mode is on: larger text and fewer choices. Press “Standard mode” to leave it.",
        )
    return response
