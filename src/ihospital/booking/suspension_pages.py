"""Institution admins' page of no-shows (爽约): the 就诊人 with no-shows in the last 90 days
and the booking suspensions running now, which the admin may lift early with a reason. A
platform admin picks the institution with ``?institution_id=``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.dayof_schemas import SuspensionLift
from ihospital.booking.page_support import institution_chooser
from ihospital.booking.suspensions import (
    NO_SHOW_LIMIT,
    NO_SHOW_WINDOW,
    lift_suspension,
    no_show_list,
)
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory import institutions
from ihospital.directory.pages_support import form_text, scope_query
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import parse_form
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Scheduler = Annotated[Actor, Depends(require(Permission.SCHEDULES_MANAGE))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
TITLE = "No-shows"


async def _no_shows_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int | None,
    scope: str,
    errors: dict[int, str] | None = None,
    reasons: dict[int, str] | None = None,
) -> Response:
    """The list; ``errors`` and ``reasons`` of a refused lift, by suspension id."""
    if institution_id is None:
        return await institution_chooser(
            request, session, actor, target="/admin/no-shows", heading=TITLE
        )
    institution = await institutions.get_managed_institution(
        session, actor, institution_id=institution_id
    )
    context = {
        "institution": institution,
        "scope": scope,
        "rows": await no_show_list(session, actor, institution_id=institution_id),
        "limit": NO_SHOW_LIMIT,
        "window_days": NO_SHOW_WINDOW.days,
        "lift_errors": errors or {},
        "reasons": reasons or {},
    }
    return render(
        request, "booking/admin_no_shows.html", context, status_code=422 if errors else 200
    )


@router.get("/admin/no-shows")
async def no_shows_page(
    request: Request, session: DbSession, actor: Scheduler, institution_id: InstitutionScope = None
) -> Response:
    """就诊人 with no-shows here in the last 90 days and the suspensions running now."""
    return await _no_shows_page(
        request,
        session,
        actor,
        institution_id=institution_id or actor.institution_id,
        scope=scope_query(institution_id),
    )


@router.post("/admin/no-shows/suspensions/{suspension_id}/lift", dependencies=CSRF)
async def lift_submit(
    suspension_id: RecordId,
    request: Request,
    session: DbSession,
    actor: Scheduler,
    institution_id: InstitutionScope = None,
) -> Response:
    """Lift a running suspension early; the reason is required."""
    scope = institution_id or actor.institution_id
    if scope is None:
        raise NotFound("booking.suspension_not_found", "This suspension does not exist.")
    values = await form_text(request, ("reason",))
    form, state = parse_form(SuspensionLift, values)
    if form is None:
        return await _no_shows_page(
            request,
            session,
            actor,
            institution_id=scope,
            scope=scope_query(institution_id),
            errors={suspension_id: state.errors["reason"]},
            reasons={suspension_id: values["reason"]},
        )
    response = RedirectResponse("/admin/no-shows" + scope_query(institution_id), status_code=303)
    try:
        async with session.begin_nested():  # a refusal leaves nothing behind
            await lift_suspension(
                session,
                actor,
                institution_id=scope,
                suspension_id=suspension_id,
                reason=form.reason,
            )
    except NotFound:
        raise
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, "The suspension was lifted; the patient may book online again.")
    return response
