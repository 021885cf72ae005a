"""Institution admin pages: the institution's doctors and their credential review, and the
institution itself with its departments.

The institution is the admin's own; a platform admin picks one with ``?institution_id=`` (and
without it sees the list of institutions, and on the institution page can register one). The
services decide whether the actor may manage the institution.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory import credentials, departments, institutions, practitioners
from ihospital.directory.models import INSTITUTION_LEVELS, TITLES, VERIFICATION_STATUSES
from ihospital.directory.pages_support import (
    checkbox,
    form_text,
    institution_form_values,
    redirect_after,
    scope_query,
)
from ihospital.directory.schemas import InstitutionCreate, InstitutionUpdate, PractitionerCreate
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

CSRF = [Depends(check_csrf)]
StaffManager = Annotated[Actor, Depends(require(Permission.STAFF_MANAGE))]
InstitutionManager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
InstitutionCreator = Annotated[Actor, Depends(require(Permission.INSTITUTION_CREATE))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
TextField = Annotated[str, Form()]
DOCTOR_FIELDS = (
    "name",
    "sex",
    "mobile",
    "licence_number",
    "title",
    "practice_start_date",
    "department_code",
    "specialties",
    "introduction",
)
REVIEW_DONE_MESSAGES = {
    "verify": "{name} is verified.",
    "reject": "{name} was sent back with your reason.",
    "suspend": "{name} is suspended.",
    "reinstate": "{name} is reinstated.",
}


def _redirect(path: str, institution_id: int | None) -> RedirectResponse:
    return RedirectResponse(path + scope_query(institution_id), status_code=303)


# --- doctors --------------------------------------------------------------------------------


async def _doctors_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    *,
    institution_id: int | None,
    status: str,
    page: int,
    values: dict[str, Any],
    state: FormState,
) -> Response:
    if institution_id is None:
        listing = await institutions.list_institutions(session, actor, page=page, page_size=50)
        context = {"choose": listing, "target": "/admin/doctors"}
        return render(request, "directory/admin_choose.html", context)
    institution = await institutions.get_managed_institution(
        session, actor, institution_id=institution_id
    )
    doctors = await practitioners.list_practitioners(
        session,
        actor,
        institution_id=institution_id,
        status=status if status in VERIFICATION_STATUSES else None,
        page=page,
        page_size=50,
    )
    context = {
        "institution": institution,
        "doctors": doctors,
        "status": status,
        "statuses": VERIFICATION_STATUSES,
        "titles": TITLES,
        "scope": scope_query(institution_id),
        "values": values,
        **state.context(),
    }
    return render(request, "directory/admin_doctors.html", context, status_code=state.status_code)


@router.get("/doctors")
async def admin_doctors_page(
    request: Request,
    session: DbSession,
    actor: StaffManager,
    institution_id: InstitutionScope = None,
    status: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The institution's doctors with their review status and actions, and the form to add one."""
    return await _doctors_page(
        request,
        session,
        actor,
        institution_id=institution_id or actor.institution_id,
        status=status,
        page=page,
        values={},
        state=FormState(),
    )


@router.post("/doctors", dependencies=CSRF)
async def admin_create_doctor(
    request: Request,
    session: DbSession,
    actor: StaffManager,
    institution_id: InstitutionScope = None,
    password: TextField = "",
) -> Response:
    scope = institution_id or actor.institution_id
    values = await form_text(request, DOCTOR_FIELDS)
    form, state = parse_form(PractitionerCreate, {**values, "password": password})
    if form is not None and scope is not None:
        try:
            view = await practitioners.create_practitioner(
                session,
                actor,
                institution_id=scope,
                **form.model_dump(exclude={"practice_sites"}),
            )
        except AppError as error:
            state = refused(error, fields=(*DOCTOR_FIELDS, "password"))
        else:
            response = _redirect("/admin/doctors", institution_id)
            flash(
                request, response, "{name} was added. Submit the record for review.", name=view.name
            )
            return response
    return await _doctors_page(
        request,
        session,
        actor,
        institution_id=scope,
        status="",
        page=1,
        values=values,
        state=state,
    )


@router.post("/doctors/{practitioner_id}/submission", dependencies=CSRF)
async def admin_submit_doctor(
    practitioner_id: RecordId,
    request: Request,
    session: DbSession,
    actor: StaffManager,
    institution_id: InstitutionScope = None,
) -> Response:
    return await redirect_after(
        request,
        "/admin/doctors" + scope_query(institution_id),
        credentials.submit_for_review(session, actor, practitioner_id=practitioner_id),
        lambda view: Notice("{name} is waiting for review.", "success", {"name": view.name}),
    )


@router.post("/doctors/{practitioner_id}/review", dependencies=CSRF)
async def admin_review_doctor(
    practitioner_id: RecordId,
    request: Request,
    session: DbSession,
    actor: StaffManager,
    institution_id: InstitutionScope = None,
    decision: TextField = "",
    note: TextField = "",
) -> Response:
    return await redirect_after(
        request,
        "/admin/doctors" + scope_query(institution_id),
        credentials.decide_review(
            session,
            actor,
            practitioner_id=practitioner_id,
            decision=decision,
            note=note[:512],
            cipher=request.app.state.cipher,
        ),
        lambda view: Notice(REVIEW_DONE_MESSAGES[decision], "success", {"name": view.name}),
    )


# --- the institution ------------------------------------------------------------------------


async def _institution_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    *,
    institution_id: int | None,
    values: dict[str, Any] | None,
    state: FormState,
) -> Response:
    context: dict[str, Any] = {"levels": INSTITUTION_LEVELS, **state.context()}
    if institution_id is None:
        listing = await institutions.list_institutions(session, actor, page_size=50)
        context |= {"choose": listing, "target": "/admin/institution", "values": values or {}}
        template = "directory/admin_institutions.html"
    else:
        institution = await institutions.get_managed_institution(
            session, actor, institution_id=institution_id
        )
        context |= {
            "institution": institution,
            "values": values if values is not None else institution_form_values(institution),
            "codes": await departments.list_department_codes(session, actor),
            "scope": scope_query(institution_id),
        }
        template = "directory/admin_institution.html"
    return render(request, template, context, status_code=state.status_code)


@router.get("/institution")
async def admin_institution_page(
    request: Request,
    session: DbSession,
    actor: InstitutionManager,
    institution_id: InstitutionScope = None,
) -> Response:
    """Edit the institution and its departments (a platform admin first picks or registers one)."""
    return await _institution_page(
        request,
        session,
        actor,
        institution_id=institution_id or actor.institution_id,
        values=None,
        state=FormState(),
    )


async def _institution_form(request: Request) -> dict[str, Any]:
    values: dict[str, Any] = await form_text(request, institutions.EDITABLE_FIELDS)
    values["is_internet_hospital"] = checkbox((await request.form()).get("is_internet_hospital"))
    return values


def _parsed(values: dict[str, Any]) -> dict[str, Any]:
    """Form text to API shape input: empty optional fields are absent values."""
    return {
        **values,
        "internet_licence_expires_on": values["internet_licence_expires_on"] or None,
        "upper_institution_id": values["upper_institution_id"] or None,
    }


@router.post("/institution", dependencies=CSRF)
async def admin_update_institution(
    request: Request,
    session: DbSession,
    actor: InstitutionManager,
    institution_id: InstitutionScope = None,
) -> Response:
    scope = institution_id or actor.institution_id
    values = await _institution_form(request)
    form, state = parse_form(InstitutionUpdate, _parsed(values))
    if form is not None and scope is not None:
        try:
            await institutions.update_institution(
                session, actor, institution_id=scope, changes=form.model_dump(exclude_unset=True)
            )
        except AppError as error:
            state = refused(error, fields=institutions.EDITABLE_FIELDS)
        else:
            response = _redirect("/admin/institution", institution_id)
            flash(request, response, "Your changes were saved.")
            return response
    return await _institution_page(
        request, session, actor, institution_id=scope, values=values, state=state
    )


@router.post("/institution/new", dependencies=CSRF)
async def admin_register_institution(
    request: Request, session: DbSession, actor: InstitutionCreator
) -> Response:
    values = await _institution_form(request)
    form, state = parse_form(InstitutionCreate, _parsed(values))
    if form is not None:
        try:
            created = await institutions.create_institution(session, actor, **form.model_dump())
        except AppError as error:
            state = refused(error, fields=institutions.EDITABLE_FIELDS)
        else:
            response = _redirect("/admin/institution", created.id)
            flash(request, response, "{name} was registered.", name=created.name)
            return response
    return await _institution_page(
        request, session, actor, institution_id=None, values=values, state=state
    )


@router.post("/institution/departments", dependencies=CSRF)
async def admin_set_department(
    request: Request,
    session: DbSession,
    actor: InstitutionManager,
    institution_id: InstitutionScope = None,
    department_code: TextField = "",
    local_name: TextField = "",
    offers_online: Annotated[str | None, Form()] = None,
) -> Response:
    return await redirect_after(
        request,
        "/admin/institution" + scope_query(institution_id),
        departments.add_department(
            session,
            actor,
            institution_id=institution_id or actor.institution_id or 0,
            department_code=department_code.strip(),
            local_name=local_name.strip()[:64],
            offers_online=checkbox(offers_online),
        ),
        lambda view: Notice(
            "The department {code} was saved.", "success", {"code": view.department.code}
        ),
    )


@router.post("/institution/departments/{department_code}/remove", dependencies=CSRF)
async def admin_remove_department(
    department_code: Annotated[str, Path(max_length=8)],
    request: Request,
    session: DbSession,
    actor: InstitutionManager,
    institution_id: InstitutionScope = None,
) -> Response:
    return await redirect_after(
        request,
        "/admin/institution" + scope_query(institution_id),
        departments.remove_department(
            session,
            actor,
            institution_id=institution_id or actor.institution_id or 0,
            department_code=department_code,
        ),
        lambda _: Notice(
            "The department {code} was removed.", "success", {"code": department_code}
        ),
    )
