"""Institution admins' page of scalper flags (号贩子嫌疑): the open (or reviewed) flags with the
bookings behind them, and the review of one with an outcome and a note. A platform admin picks
the institution with ``?institution_id=``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.fairness.flags import (
    PATIENTS_PER_DOCTOR_DAYS,
    flag_evidence,
    list_flags,
    review_flag,
)
from ihospital.booking.fairness.schemas import FlagReview
from ihospital.booking.page_support import institution_chooser
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory import institutions, practitioners
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
Shown = Literal["open", "reviewed"]
REVIEW_FIELDS = ("outcome", "note")
TITLE = "Scalper flags"


async def _flags_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int | None,
    status: Shown,
    scope: str,
    refused: tuple[int, dict[str, str], dict[str, str]] | None = None,
) -> Response:
    """The flags of ``status``; ``refused``: the flag id, errors and values of a refused review."""
    if institution_id is None:
        return await institution_chooser(
            request, session, actor, target="/admin/booking-flags", heading=TITLE
        )
    institution = await institutions.get_managed_institution(
        session, actor, institution_id=institution_id
    )
    flags = await list_flags(session, actor, institution_id=institution_id, status=status)
    doctors = await practitioners.list_practitioners(
        session, actor, institution_id=institution_id, page_size=100
    )
    flag_id, errors, values = refused or (0, {}, {})
    context = {
        "institution": institution,
        "scope": scope,
        "status": status,
        "flags": flags,
        "evidence": await flag_evidence(session, actor, institution_id=institution_id, flags=flags),
        "doctor_names": {doctor.id: doctor.name for doctor in doctors.items},
        "days": PATIENTS_PER_DOCTOR_DAYS,
        "refused_id": flag_id,
        "review_errors": errors,
        "review_values": values,
    }
    status_code = 422 if errors else 200
    return render(request, "booking/admin_flags.html", context, status_code=status_code)


@router.get("/admin/booking-flags")
async def flags_page(
    request: Request,
    session: DbSession,
    actor: Scheduler,
    institution_id: InstitutionScope = None,
    status: Annotated[Shown, Query()] = "open",
) -> Response:
    """The institution's open scalper flags (or the reviewed ones) with their evidence."""
    return await _flags_page(
        request,
        session,
        actor,
        institution_id=institution_id or actor.institution_id,
        status=status,
        scope=scope_query(institution_id),
    )


@router.post("/admin/booking-flags/{flag_id}/review", dependencies=CSRF)
async def review_submit(
    flag_id: RecordId,
    request: Request,
    session: DbSession,
    actor: Scheduler,
    institution_id: InstitutionScope = None,
) -> Response:
    """Review a flag with its outcome and a note; a missing outcome shows next to its field."""
    scope = institution_id or actor.institution_id
    if scope is None:
        raise NotFound("booking.flag_not_found", "This flag does not exist.")
    values = await form_text(request, REVIEW_FIELDS)
    form, state = parse_form(FlagReview, values)
    if form is None:
        return await _flags_page(
            request,
            session,
            actor,
            institution_id=scope,
            status="open",
            scope=scope_query(institution_id),
            refused=(flag_id, state.errors, values),
        )
    response = RedirectResponse(
        "/admin/booking-flags" + scope_query(institution_id), status_code=303
    )
    try:
        async with session.begin_nested():  # a refusal leaves nothing behind
            await review_flag(
                session,
                actor,
                institution_id=scope,
                flag_id=flag_id,
                outcome=form.outcome,
                note=form.note,
            )
    except NotFound:
        raise
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, "The flag was reviewed.")
    return response
