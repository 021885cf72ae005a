"""A doctor's own profile page: what the institution recorded, the review status, and the parts
the doctor edits (introduction, specialties, photo); a draft or rejected record can be submitted
for review from here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.credentials import submit_own_for_review
from ihospital.directory.pages_support import form_text, redirect_after
from ihospital.directory.practitioners import (
    PROFILE_FIELDS,
    get_own_practitioner,
    update_own_profile,
)
from ihospital.directory.schemas import ProfileUpdate
from ihospital.directory.views import PractitionerView
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(prefix="/doctor/profile", include_in_schema=False)

CSRF = [Depends(check_csrf)]
Doctor = Annotated[Actor, Depends(require(Permission.PRACTITIONER_SELF))]


def _page(
    request: Request, doctor: PractitionerView | None, values: dict[str, Any], state: FormState
) -> Response:
    context = {"doctor": doctor, "values": values, **state.context()}
    return render(request, "directory/my_profile.html", context, status_code=state.status_code)


@router.get("")
async def my_profile_page(request: Request, session: DbSession, actor: Doctor) -> Response:
    try:
        doctor = await get_own_practitioner(session, actor)
    except NotFound:
        return _page(request, None, {}, FormState())
    values = {field: getattr(doctor, field) for field in PROFILE_FIELDS}
    return _page(request, doctor, values, FormState())


@router.post("", dependencies=CSRF)
async def my_profile_submit(request: Request, session: DbSession, actor: Doctor) -> Response:
    values = await form_text(request, PROFILE_FIELDS)
    form, state = parse_form(ProfileUpdate, values)
    if form is not None:
        try:
            await update_own_profile(session, actor, changes=form.model_dump(exclude_unset=True))
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=PROFILE_FIELDS)
        else:
            response = RedirectResponse("/doctor/profile", status_code=303)
            flash(request, response, "Your profile was saved.")
            return response
    return _page(request, await get_own_practitioner(session, actor), values, state)


@router.post("/submission", dependencies=CSRF)
async def my_profile_submission(request: Request, session: DbSession, actor: Doctor) -> Response:
    return await redirect_after(
        request,
        "/doctor/profile",
        submit_own_for_review(session, actor),
        lambda _: Notice("Your record was submitted to your institution for review.", "success"),
    )
