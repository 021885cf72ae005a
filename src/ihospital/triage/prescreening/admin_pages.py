"""Admin pages of pre-screening: the platform admins' questionnaire versions and drafts
(/admin/prescreening: start a draft in the editor of :mod:`.draft_pages` from the version in
use, from nothing, or from an imported JSON definition; retire a version) and an institution's
fever clinics (/admin/fever-clinics: add one, close or reopen one). Plain forms."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.validation_messages import message_for
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.institutions import get_managed_institution
from ihospital.directory.pages_support import form_text, scope_query
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.security.permissions import Permission
from ihospital.triage.prescreening import clinics, drafts, questionnaires
from ihospital.triage.prescreening.definition import Definition
from ihospital.triage.prescreening.schemas import FeverClinicWrite
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

CSRF = [Depends(check_csrf)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Manager = Annotated[Actor, Depends(require(Permission.PRESCREENING_MANAGE))]
InstitutionAdmin = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
VERSION_PUBLISHED_MESSAGE = "Version {version} is published; new answers use it."
DRAFT_IMPORTED_MESSAGE = "The definition is imported into a new draft: check it, then publish it."
VERSION_RETIRED_MESSAGE = "Version {version} is retired."
CLINIC_ADDED_MESSAGE = "{name} is added."
CLINIC_FIELDS = ("name", "address", "hours", "phone")
DEFINITION_ERROR_MESSAGE = "{place}: {problem}"


async def _versions_page(
    request: Request, session: AsyncSession, text: str | None, state: FormState
) -> Response:
    rows = await questionnaires.versions(session)
    current = next((row for row in rows if row.status == "published"), None)
    if text is None:
        source = (
            current.definition
            if current
            else questionnaires.stored(questionnaires.default_definition())
        )
        text = json.dumps(json.loads(source), ensure_ascii=False, indent=2)
    context = {
        "versions": rows,
        "drafts": await drafts.drafts(session),
        "text": text,
        **state.context(),
    }
    return render(
        request, "triage/admin_questionnaires.html", context, status_code=state.status_code
    )


@router.get("/prescreening")
async def versions_page(request: Request, session: DbSession, actor: Manager) -> Response:
    """Every version, newest first, the drafts of the next one, and the current definition as
    JSON for the advanced import."""
    return await _versions_page(request, session, None, FormState())


def _definition_errors(error: ValidationError) -> FormState:
    """Each problem of a definition with where it is (questions.2.options …)."""
    state = FormState(status_code=422)
    for item in error.errors()[:10]:
        message, fields = message_for(dict(item))
        place = ".".join(str(part) for part in item.get("loc", ())) or "definition"
        problem = translate(message, **fields)
        state.errors.setdefault("definition", "")
        state.errors["definition"] += (
            translate(DEFINITION_ERROR_MESSAGE, place=place, problem=problem) + "\n"
        )
    return state


@router.post("/prescreening", dependencies=CSRF)
async def import_submit(request: Request, session: DbSession, actor: Manager) -> Response:
    """Import a JSON definition into a new draft (the editor then checks and publishes it); its
    problems are listed by place."""
    text = str((await request.form()).get("definition") or "")
    try:
        definition = Definition.model_validate_json(text)
    except ValidationError as error:
        return await _versions_page(request, session, text, _definition_errors(error))
    draft = await drafts.start_draft(session, actor, source="import", definition=definition)
    response = RedirectResponse(f"/admin/prescreening/drafts/{draft.id}", status_code=303)
    flash(request, response, DRAFT_IMPORTED_MESSAGE)
    return response


@router.post("/prescreening/{questionnaire_id}/retire", dependencies=CSRF)
async def retire_submit(
    questionnaire_id: Id, request: Request, session: DbSession, actor: Manager
) -> Response:
    response = RedirectResponse("/admin/prescreening", status_code=303)
    try:
        retired = await questionnaires.retire(session, actor, questionnaire_id=questionnaire_id)
    except AppError as error:
        if error.status == 404:
            raise
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, VERSION_RETIRED_MESSAGE, version=retired.version)
    return response


async def _clinics_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    institution_id: int,
    values: dict[str, Any],
    state: FormState,
) -> Response:
    institution = await get_managed_institution(session, actor, institution_id=institution_id)
    context = {
        "institution": institution,
        "clinics": await clinics.institution_clinics(session, actor, institution_id=institution_id),
        "scope": scope_query(institution_id),
        "values": values,
        **state.context(),
    }
    return render(request, "triage/admin_clinics.html", context, status_code=state.status_code)


def _scope(actor: Actor, institution_id: int | None) -> int:
    scope = institution_id or actor.institution_id
    if scope is None:  # a platform admin names the institution
        raise clinics.institution_required()
    return scope


@router.get("/fever-clinics")
async def clinics_page(
    request: Request,
    session: DbSession,
    actor: InstitutionAdmin,
    institution_id: InstitutionScope = None,
) -> Response:
    """The institution's fever clinics and the form to add one."""
    scope = _scope(actor, institution_id)
    return await _clinics_page(request, session, actor, scope, {}, FormState())


@router.post("/fever-clinics", dependencies=CSRF)
async def add_clinic_submit(
    request: Request,
    session: DbSession,
    actor: InstitutionAdmin,
    institution_id: InstitutionScope = None,
) -> Response:
    scope = _scope(actor, institution_id)
    values = await form_text(request, CLINIC_FIELDS)
    parsed, state = parse_form(FeverClinicWrite, values)
    if parsed is not None:
        try:
            added = await clinics.add_clinic(
                session, actor, institution_id=scope, **parsed.model_dump()
            )
        except AppError as error:
            if error.status in (403, 404):
                raise
            state = refused(error, fields=CLINIC_FIELDS)
        else:
            response = RedirectResponse(
                "/admin/fever-clinics" + scope_query(scope), status_code=303
            )
            flash(request, response, CLINIC_ADDED_MESSAGE, name=added.name)
            return response
    return await _clinics_page(request, session, actor, scope, values, state)


@router.post("/fever-clinics/{clinic_id}/{action}", dependencies=CSRF)
async def open_or_close_submit(
    clinic_id: Id,
    action: Annotated[str, Path(pattern="^(open|close)$")],
    session: DbSession,
    actor: InstitutionAdmin,
    institution_id: InstitutionScope = None,
) -> Response:
    scope = _scope(actor, institution_id)
    await clinics.set_clinic_active(
        session, actor, institution_id=scope, clinic_id=clinic_id, active=action == "open"
    )
    return RedirectResponse("/admin/fever-clinics" + scope_query(scope), status_code=303)
