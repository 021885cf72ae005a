"""The institution admin's pages of the institution's pharmacies (/admin/pharmacies): its own
pharmacy and partner retail pharmacies (合作零售药店) with licence, address, phone, delivery,
pick-up, cold chain and delivery fee; add one, change one, close one for new orders.

The pharmacy is the admin's institution's; a platform admin picks the institution with
``?institution_id=``. The services in :mod:`ihospital.pharmacy.stock` decide who may manage
what (another institution's pharmacy is not found). Plain forms: everything works without
JavaScript. The pharmacists' stock pages are in :mod:`ihospital.pharmacy.stock_pages`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.core.money import fen_to_yuan, format_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.access import may_manage
from ihospital.directory.institutions import get_managed_institution, list_institutions
from ihospital.directory.pages_support import checkbox, form_text, scope_query
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.pharmacy.api import pharmacy_values
from ihospital.pharmacy.models import Pharmacy
from ihospital.pharmacy.schemas import PharmacyWrite
from ihospital.pharmacy.stock import (
    create_pharmacy,
    institution_pharmacies,
    pharmacy_not_found,
    update_pharmacy,
)
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

CSRF = [Depends(check_csrf)]
Manager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
TEXT_FIELDS = ("kind", "name", "licence_number", "address", "phone", "delivery_fee")
FLAGS = ("offers_delivery", "offers_pickup", "cold_chain", "active")
FIELDS = TEXT_FIELDS + FLAGS
ADDED_MESSAGE = "{name} is added."
SAVED_MESSAGE = "{name} is saved."
NEW_PHARMACY = {"kind": "retail", "offers_delivery": True, "offers_pickup": True, "active": True}


async def _posted(request: Request) -> dict[str, Any]:
    """The pharmacy form as posted: trimmed text and the ticked boxes."""
    form = await request.form()
    values: dict[str, Any] = await form_text(request, TEXT_FIELDS)
    values.update({flag: checkbox(form.get(flag)) for flag in FLAGS})
    return values


def _shown(pharmacy: Pharmacy) -> dict[str, Any]:
    """A pharmacy's fields as its edit form shows them (the fee in yuan)."""
    values = {field: getattr(pharmacy, field) for field in FIELDS if field != "delivery_fee"}
    return {**values, "delivery_fee": str(fen_to_yuan(pharmacy.delivery_fee_fen))}


async def _list_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    institution_id: int | None,
    values: dict[str, Any],
    state: FormState,
) -> Response:
    if institution_id is None:
        choose = await list_institutions(session, actor, page=1, page_size=50)
        context = {"choose": choose, "target": "/admin/pharmacies"}
        return render(request, "pharmacy/admin_pharmacies.html", context)
    institution = await get_managed_institution(session, actor, institution_id=institution_id)
    pharmacies = await institution_pharmacies(session, actor, institution_id=institution_id)
    context = {
        "institution": institution,
        "pharmacies": pharmacies,
        "scope": scope_query(institution_id),
        "values": values,
        "yuan": format_yuan,
        **state.context(),
    }
    return render(request, "pharmacy/admin_pharmacies.html", context, status_code=state.status_code)


@router.get("/pharmacies")
async def pharmacies_page(
    request: Request, session: DbSession, actor: Manager, institution_id: InstitutionScope = None
) -> Response:
    """The institution's pharmacies and the form to add one."""
    scope = institution_id or actor.institution_id
    return await _list_page(request, session, actor, scope, NEW_PHARMACY, FormState())


@router.post("/pharmacies", dependencies=CSRF)
async def add_pharmacy_submit(
    request: Request, session: DbSession, actor: Manager, institution_id: InstitutionScope = None
) -> Response:
    """Register a pharmacy of the institution; a refusal is shown next to its field."""
    scope = institution_id or actor.institution_id
    values = await _posted(request)
    parsed, state = parse_form(PharmacyWrite, values)
    if parsed is not None and scope is not None:
        try:
            created = await create_pharmacy(
                session, actor, institution_id=scope, values=pharmacy_values(parsed)
            )
        except AppError as error:
            if error.status in (403, 404):
                raise
            state = refused(error, fields=FIELDS)
        else:
            response = RedirectResponse("/admin/pharmacies" + scope_query(scope), status_code=303)
            flash(request, response, ADDED_MESSAGE, name=created.name)
            return response
    return await _list_page(request, session, actor, scope, values, state)


async def _managed_pharmacy(session: AsyncSession, actor: Actor, pharmacy_id: int) -> Pharmacy:
    """A pharmacy of an institution the actor manages; any other is not found."""
    pharmacy = await session.get(Pharmacy, pharmacy_id)
    if pharmacy is None or not may_manage(actor, pharmacy.institution_id):
        raise pharmacy_not_found(pharmacy_id)
    return pharmacy


def _edit_page(
    request: Request, pharmacy: Pharmacy, values: dict[str, Any], state: FormState
) -> Response:
    context = {"pharmacy": pharmacy, "values": values, **state.context()}
    return render(request, "pharmacy/admin_pharmacy.html", context, status_code=state.status_code)


@router.get("/pharmacies/{pharmacy_id}")
async def pharmacy_page(
    pharmacy_id: RecordId, request: Request, session: DbSession, actor: Manager
) -> Response:
    """The form to change a pharmacy of the institution."""
    pharmacy = await _managed_pharmacy(session, actor, pharmacy_id)
    return _edit_page(request, pharmacy, _shown(pharmacy), FormState())


@router.post("/pharmacies/{pharmacy_id}", dependencies=CSRF)
async def edit_pharmacy_submit(
    pharmacy_id: RecordId, request: Request, session: DbSession, actor: Manager
) -> Response:
    """Change the pharmacy (an unticked "open" closes it for new orders)."""
    pharmacy = await _managed_pharmacy(session, actor, pharmacy_id)
    values = await _posted(request)
    parsed, state = parse_form(PharmacyWrite, values)
    if parsed is not None:
        try:
            await update_pharmacy(
                session, actor, pharmacy_id=pharmacy_id, values=pharmacy_values(parsed)
            )
        except AppError as error:
            if error.status in (403, 404):
                raise
            state = refused(error, fields=FIELDS)
        else:
            back = "/admin/pharmacies" + scope_query(pharmacy.institution_id)
            response = RedirectResponse(back, status_code=303)
            flash(request, response, SAVED_MESSAGE, name=pharmacy.name)
            return response
    return _edit_page(request, pharmacy, values, state)
