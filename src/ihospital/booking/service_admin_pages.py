"""Institution admins' pages of vaccinations (疫苗接种) and check-ups (体检): their resources
(add, edit, withdraw) and each resource's sessions, with the days-and-hours form of the schedule
editor. A platform admin picks the institution with ``?institution_id=``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.models import HALF_DAYS
from ihospital.booking.resource_schedules import create_resource_sessions
from ihospital.booking.resource_schemas import ResourceCreate, ResourceSessionCreate, ResourceUpdate
from ihospital.booking.resources import (
    RESOURCE_FIELDS,
    ResourceInput,
    create_resource,
    list_resources,
    managed_resource,
    update_resource,
)
from ihospital.booking.schedules import list_sessions
from ihospital.booking.session_form import (
    EDITOR_DAYS,
    FEE_FORMAT_MESSAGE,
    parse_session_form,
    session_form_values,
)
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.money import InvalidAmount, fen_to_yuan, format_yuan, parse_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory import institutions
from ihospital.directory.pages_support import checkbox, form_text, scope_query
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Scheduler = Annotated[Actor, Depends(require(Permission.SCHEDULES_MANAGE))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
TEXT_FIELDS = tuple(name for name in RESOURCE_FIELDS if name != "is_active")
OPTIONAL_FIELDS = ("min_age_years", "max_age_years", "sex")  # left empty: no limit
WINDOW_FIELDS = ("day", "half_day", "start_time", "end_time", "slot_minutes", "places_per_slot")


def _scope(actor: Actor, institution_id: int | None) -> int:
    """The institution whose resource is asked for: the one chosen, else the admin's own."""
    scope = institution_id or actor.institution_id
    if scope is None:
        raise NotFound("booking.resource_not_found", "This service does not exist.")
    return scope


def _form_values(resource: Any) -> dict[str, Any]:
    """A resource's fields as its form shows them (the fee in yuan)."""
    values = {name: getattr(resource, name) for name in RESOURCE_FIELDS}
    values["fee_fen"] = str(fen_to_yuan(resource.fee_fen))
    for name in OPTIONAL_FIELDS:
        values[name] = "" if values[name] is None else str(values[name])
    return values


async def _resource_form(
    request: Request, schema: type[ResourceCreate] | type[ResourceUpdate], *, kind: str | None
) -> tuple[dict[str, Any], ResourceCreate | ResourceUpdate | None, FormState]:
    """The resource form as the page shows it again, and as the API schema validates it: the
    fee in yuan, empty limits for none; an edit keeps the resource's ``kind``."""
    form = await request.form()
    values: dict[str, Any] = await form_text(request, TEXT_FIELDS)
    values["is_active"] = checkbox(form.get("is_active"))
    data: dict[str, Any] = {**values}
    for name in OPTIONAL_FIELDS:
        data[name] = values[name] or None
    if kind is not None:
        values["kind"] = kind
        del data["kind"]
    fee_error = None
    try:
        data["fee_fen"] = parse_yuan(values["fee_fen"] or "0")
    except InvalidAmount:
        fee_error = FEE_FORMAT_MESSAGE
    parsed, state = parse_form(schema, data)
    if fee_error:
        state = FormState({**state.errors, "fee_fen": translate(fee_error)}, status_code=422)
        parsed = None
    return values, parsed, state


async def _services_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    chosen: int | None,
    values: dict[str, Any] | None = None,
    state: FormState | None = None,
) -> Response:
    """The resources of the chosen institution (else the admin's own) and the form to add one
    (``values``/``state`` of a refused submit)."""
    state = state or FormState()
    institution_id = chosen or actor.institution_id
    if institution_id is None:
        listing = await institutions.list_institutions(session, actor, page=1, page_size=50)
        context = {"choose": listing, "target": "/admin/services"}
        return render(request, "booking/admin_choose_services.html", context)
    institution = await institutions.get_managed_institution(
        session, actor, institution_id=institution_id
    )
    context = {
        "institution": institution,
        "scope": scope_query(chosen),
        "resources": await list_resources(session, actor, institution_id=institution_id),
        "values": values or {"kind": "vaccination", "is_active": True},
        "yuan": format_yuan,
        **state.context(),
    }
    return render(request, "booking/admin_services.html", context, status_code=state.status_code)


@router.get("/admin/services")
async def services_admin_page(
    request: Request, session: DbSession, actor: Scheduler, institution_id: InstitutionScope = None
) -> Response:
    """The institution's vaccinations and check-up packages, and the form to add one."""
    return await _services_page(request, session, actor, chosen=institution_id)


@router.post("/admin/services", dependencies=CSRF)
async def create_service_submit(
    request: Request, session: DbSession, actor: Scheduler, institution_id: InstitutionScope = None
) -> Response:
    """Add a vaccination or check-up package; refusals next to their fields."""
    scope = institution_id or actor.institution_id
    values, form, state = await _resource_form(request, ResourceCreate, kind=None)
    if form is not None and scope is not None:
        try:
            resource = await create_resource(
                session, actor, institution_id=scope, values=ResourceInput(**form.model_dump())
            )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=RESOURCE_FIELDS)
        else:
            location = f"/admin/services/{resource.id}" + scope_query(institution_id)
            response = RedirectResponse(location, status_code=303)
            flash(request, response, "{name} was added.", name=resource.name)
            return response
    return await _services_page(
        request, session, actor, chosen=institution_id, values=values, state=state
    )


async def _service_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int | None,
    resource_id: int,
    values: dict[str, Any] | None = None,
    state: FormState | None = None,
    window_values: dict[str, Any] | None = None,
    window_state: FormState | None = None,
) -> Response:
    """One resource: its edit form, its sessions of the next 30 days and the new-session form
    (``values``/``state`` of a refused submit of either form)."""
    state, window_state = state or FormState(), window_state or FormState()
    scope = _scope(actor, institution_id)
    resource = await managed_resource(session, actor, institution_id=scope, resource_id=resource_id)
    institution = await institutions.get_managed_institution(session, actor, institution_id=scope)
    today = actor.clock.today_local()
    views = await list_sessions(
        session,
        actor,
        institution_id=scope,
        start=today,
        until=today + timedelta(days=EDITOR_DAYS),
        resource_id=resource.id,
    )
    context = {
        "institution": institution,
        "resource": resource,
        "scope": scope_query(institution_id),
        "views": views,
        "half_days": HALF_DAYS,
        "form_values": values or _form_values(resource),
        "form_errors": state.errors,
        "values": window_values or {"kind": "once", "day": str(today), "weekdays": []},
        "errors": window_state.errors,
        "notices": state.notices + window_state.notices,
        "yuan": format_yuan,
    }
    status_code = max(state.status_code, window_state.status_code)
    return render(request, "booking/admin_service.html", context, status_code=status_code)


@router.get("/admin/services/{resource_id}")
async def service_admin_page(
    resource_id: RecordId,
    request: Request,
    session: DbSession,
    actor: Scheduler,
    institution_id: InstitutionScope = None,
) -> Response:
    """A vaccination or check-up package: edit it, see and add its sessions."""
    return await _service_page(
        request, session, actor, institution_id=institution_id, resource_id=resource_id
    )


@router.post("/admin/services/{resource_id}", dependencies=CSRF)
async def edit_service_submit(
    resource_id: RecordId,
    request: Request,
    session: DbSession,
    actor: Scheduler,
    institution_id: InstitutionScope = None,
) -> Response:
    """Save the resource's changes; unticking "offered" withdraws it."""
    scope = _scope(actor, institution_id)
    resource = await managed_resource(session, actor, institution_id=scope, resource_id=resource_id)
    values, form, state = await _resource_form(request, ResourceUpdate, kind=resource.kind)
    if form is not None:
        try:
            await update_resource(
                session,
                actor,
                institution_id=scope,
                resource_id=resource_id,
                changes=form.model_dump(exclude_unset=True),
            )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=RESOURCE_FIELDS)
        else:
            location = f"/admin/services/{resource_id}" + scope_query(institution_id)
            response = RedirectResponse(location, status_code=303)
            flash(request, response, "The changes were saved.")
            return response
    return await _service_page(
        request,
        session,
        actor,
        institution_id=institution_id,
        resource_id=resource_id,
        values=values,
        state=state,
    )


@router.post("/admin/services/{resource_id}/sessions", dependencies=CSRF)
async def create_service_sessions_submit(
    resource_id: RecordId,
    request: Request,
    session: DbSession,
    actor: Scheduler,
    institution_id: InstitutionScope = None,
) -> Response:
    """Create the one-off session, or the weekly sessions, of the resource in windows of the
    chosen length and places; refusals next to their fields."""
    scope = _scope(actor, institution_id)
    values, data = await session_form_values(request, WINDOW_FIELDS)
    form, state = parse_session_form(ResourceSessionCreate, data)
    if form is not None:
        try:
            async with session.begin_nested():  # a refusal leaves nothing behind
                created = await create_resource_sessions(
                    session,
                    actor,
                    institution_id=scope,
                    resource_id=resource_id,
                    window=form.window(),
                    days=form.days(),
                )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=(*WINDOW_FIELDS, "start", "until", "weekdays"))
        else:
            location = f"/admin/services/{resource_id}" + scope_query(institution_id)
            response = RedirectResponse(location, status_code=303)
            flash(
                request,
                response,
                "{count} sessions of the service were scheduled.",
                count=len(created),
            )
            return response
    return await _service_page(
        request,
        session,
        actor,
        institution_id=institution_id,
        resource_id=resource_id,
        window_values=values,
        window_state=state,
    )
