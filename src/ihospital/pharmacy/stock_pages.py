"""The pharmacists' stock pages (/pharmacy/stock): the institution's pharmacies, each one's stock
searched by name, pinyin or code, and per drug the forms to count it and set its price (盘点),
receive packages (入库) and adjust the count with a reason (损耗, 过期 …). A catalogue drug the
pharmacy does not keep yet is found by the same search and stocked with a count and a price.

The services in :mod:`ihospital.pharmacy.stock` decide who may change what: a pharmacy of
another institution is not found; the count never falls below what orders hold (R19). Plain
forms: everything works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.core.money import fen_to_yuan, format_yuan, yuan_to_fen
from ihospital.core.schemas import Schema
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import form_text
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.pharmacy.schemas import StockChange, StockSet
from ihospital.pharmacy.stock import (
    MAX_PACKAGES,
    change_stock,
    institution_pharmacies,
    pharmacy_stock,
    set_stock,
    staffed_pharmacy,
)
from ihospital.prescribing.catalogue import DrugFilters, get_drug, search_drugs
from ihospital.prescribing.models import Drug
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(prefix="/pharmacy/stock", include_in_schema=False)

CSRF = [Depends(check_csrf)]
Pharmacist = Annotated[Actor, Depends(require(Permission.PHARMACY_DISPENSE))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Search = Annotated[str, Query(max_length=64)]
CATALOGUE_MATCHES = 20
RECEIVED = "received"
COUNTED_MESSAGE = "The count and the price are saved."
RECEIVED_MESSAGE = "The packages are received."
ADJUSTED_MESSAGE = "The count is adjusted."


class StockReceipt(Schema):
    """Packages received from the supplier (入库)."""

    packages: Annotated[int, Field(ge=1, le=MAX_PACKAGES)]


def _matches(drug: Drug, q: str) -> bool:
    """The stock list's search: ``q`` in a Chinese or English name, the pinyin or its initials,
    or the national code."""
    wanted = q.strip().lower()
    names = (
        drug.generic_name_zh,
        drug.brand_name_zh or "",
        drug.generic_name_en.lower(),
        drug.name_pinyin,
        drug.name_initials,
        drug.code.lower(),
    )
    return any(wanted in name for name in names)


@router.get("")
async def pharmacies_page(request: Request, session: DbSession, actor: Pharmacist) -> Response:
    """The pharmacies of the pharmacist's institution, each with a link to its stock."""
    assert actor.institution_id is not None  # pharmacists belong to an institution
    pharmacies = await institution_pharmacies(session, actor, institution_id=actor.institution_id)
    return render(request, "pharmacy/admin_stock_pharmacies.html", {"pharmacies": pharmacies})


@router.get("/{pharmacy_id}")
async def stock_page(
    pharmacy_id: Id, request: Request, session: DbSession, actor: Pharmacist, q: Search = ""
) -> Response:
    """The pharmacy's stock, narrowed by ``q``; with ``q``, also the catalogue's drugs the
    pharmacy does not keep yet."""
    pharmacy = await staffed_pharmacy(session, actor, pharmacy_id)
    rows = await pharmacy_stock(session, actor, pharmacy_id=pharmacy_id)
    stocked = {drug.id for _, drug in rows}
    others: list[Drug] = []
    state = FormState()
    if q.strip():
        rows = [(stock, drug) for stock, drug in rows if _matches(drug, q)]
        try:
            found = await search_drugs(
                session, actor, filters=DrugFilters(q=q), page_size=CATALOGUE_MATCHES
            )
        except AppError as error:
            state = refused(error, fields=("q",))
        else:
            others = [drug for drug in found.items if drug.id not in stocked]
    context = {
        "pharmacy": pharmacy,
        "rows": rows,
        "others": others,
        "q": q,
        "yuan": format_yuan,
        **state.context(),
    }
    return render(request, "pharmacy/admin_stock.html", context, status_code=state.status_code)


async def _drug_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    pharmacy_id: int,
    drug_id: int,
    values: dict[str, Any],
    state: FormState,
) -> Response:
    pharmacy = await staffed_pharmacy(session, actor, pharmacy_id)
    drug = await get_drug(session, actor, drug_id=drug_id)
    rows = await pharmacy_stock(session, actor, pharmacy_id=pharmacy_id)
    stock = next((row for row, stocked in rows if stocked.id == drug_id), None)
    if stock is not None:
        values = {"on_hand": stock.on_hand, "price": fen_to_yuan(stock.price_fen), **values}
    context = {
        "pharmacy": pharmacy,
        "drug": drug,
        "stock": stock,
        "values": values,
        "yuan": format_yuan,
        **state.context(),
    }
    return render(request, "pharmacy/admin_stock_drug.html", context, status_code=state.status_code)


@router.get("/{pharmacy_id}/drugs/{drug_id}")
async def drug_page(
    pharmacy_id: Id, drug_id: Id, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """One drug at the pharmacy: count and price, receive, adjust."""
    return await _drug_page(request, session, actor, pharmacy_id, drug_id, {}, FormState())


def _back(pharmacy_id: int, drug_id: int) -> RedirectResponse:
    return RedirectResponse(f"/pharmacy/stock/{pharmacy_id}/drugs/{drug_id}", status_code=303)


@dataclass(frozen=True)
class StockForm:
    """One of a drug's stock forms as posted: the drug at the pharmacy (``ids``), the schema
    of its fields and the notice once the change is made."""

    request: Request
    session: AsyncSession
    actor: Actor
    ids: tuple[int, int]
    schema: type[Schema]
    done: str


async def _submitted(
    form: StockForm, change: Callable[..., Awaitable[object]], arguments: Callable[[Any], dict]
) -> Response:
    """Parse the posted form, make the stock ``change`` and go back to the drug's page with
    ``done``; bad input or a refusal is shown next to its field on the page, nothing changed."""
    values = await form_text(form.request, tuple(form.schema.model_fields))
    parsed, state = parse_form(form.schema, values)
    if parsed is not None:
        pharmacy_id, drug_id = form.ids
        try:
            await change(
                form.session,
                form.actor,
                pharmacy_id=pharmacy_id,
                drug_id=drug_id,
                **arguments(parsed),
            )
        except AppError as error:
            if error.status == 404:
                raise
            state = refused(error, fields=tuple(values))
        else:
            response = _back(*form.ids)
            flash(form.request, response, form.done)
            return response
    return await _drug_page(form.request, form.session, form.actor, *form.ids, values, state)


@router.post("/{pharmacy_id}/drugs/{drug_id}", dependencies=CSRF)
async def count_submit(
    pharmacy_id: Id, drug_id: Id, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Set the count (盘点) and the price per package (stocks a drug not kept yet)."""
    form = StockForm(request, session, actor, (pharmacy_id, drug_id), StockSet, COUNTED_MESSAGE)
    return await _submitted(
        form,
        set_stock,
        lambda parsed: {"on_hand": parsed.on_hand, "price_fen": yuan_to_fen(parsed.price)},
    )


@router.post("/{pharmacy_id}/drugs/{drug_id}/receive", dependencies=CSRF)
async def receive_submit(
    pharmacy_id: Id, drug_id: Id, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Receive packages from the supplier (入库)."""
    ids = (pharmacy_id, drug_id)
    form = StockForm(request, session, actor, ids, StockReceipt, RECEIVED_MESSAGE)
    return await _submitted(
        form, change_stock, lambda parsed: {"change": parsed.packages, "reason": RECEIVED}
    )


@router.post("/{pharmacy_id}/drugs/{drug_id}/adjust", dependencies=CSRF)
async def adjust_submit(
    pharmacy_id: Id, drug_id: Id, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Add or remove packages with the reason (损耗, 过期, 盘盈 …)."""
    ids = (pharmacy_id, drug_id)
    form = StockForm(request, session, actor, ids, StockChange, ADJUSTED_MESSAGE)
    return await _submitted(
        form, change_stock, lambda parsed: {"change": parsed.change, "reason": parsed.reason}
    )
