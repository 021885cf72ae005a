"""The platform admin's page of the national drug catalogue (/admin/drugs): search and list,
upload a catalogue CSV (the bad rows shown as a table, nothing imported), withdraw a drug or
bring it back. Plain forms: everything works without JavaScript."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import redirect_after
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, refused
from ihospital.prescribing.catalogue import DrugFilters, search_drugs, set_drug_active
from ihospital.prescribing.catalogue_api import IMPORT_PAGE_PATH, import_upload
from ihospital.prescribing.catalogue_import import MAX_REPORTED, CatalogueRejected
from ihospital.prescribing.catalogue_schemas import plain_number
from ihospital.prescribing.models import SPECIAL_CLASSES
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Manager = Annotated[Actor, Depends(require(Permission.DRUGS_MANAGE))]
DrugId = Annotated[int, Path(ge=1, le=2**63 - 1)]
SpecialFilter = Literal[("", *SPECIAL_CLASSES)]  # type: ignore[valid-type]
PAGE_SIZE = 50
IMPORTED_MESSAGE = (
    "Imported {total} drugs: {created} new, {updated} changed, {unchanged} unchanged."
)
REACTIVATED_MESSAGE = "{name} is back in the catalogue."
DEACTIVATED_MESSAGE = "{name} is withdrawn from the catalogue."


async def _list_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    *,
    q: str = "",
    special: str = "",
    include_inactive: bool = False,
    page: int = 1,
    state: FormState | None = None,
    rejected: CatalogueRejected | None = None,
) -> Response:
    filters = DrugFilters(q=q, special_class=special or None, include_inactive=include_inactive)
    result = await search_drugs(session, actor, filters=filters, page=page, page_size=PAGE_SIZE)
    state = state or FormState()
    context: dict[str, Any] = {
        "result": result,
        "q": q,
        "special": special,
        "include_inactive": include_inactive,
        "number": plain_number,
        "row_errors": rejected.errors[:MAX_REPORTED] if rejected else [],
        "error_count": len(rejected.errors) if rejected else 0,
        **state.context(),
    }
    return render(request, "prescribing/catalogue.html", context, status_code=state.status_code)


@router.get("/admin/drugs")
async def catalogue_page(
    request: Request,
    session: DbSession,
    actor: Manager,
    q: Annotated[str, Query(max_length=64)] = "",
    special_class: SpecialFilter = "",
    include_inactive: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The catalogue: search by name, pinyin, code; the form to import a CSV file."""
    return await _list_page(
        request,
        session,
        actor,
        q=q,
        special=special_class,
        include_inactive=include_inactive,
        page=page,
    )


@router.post(IMPORT_PAGE_PATH, dependencies=CSRF)
async def import_submit(request: Request, session: DbSession, actor: Manager) -> Response:
    """Import the chosen CSV file; its bad rows are shown and nothing is imported."""
    try:
        result = await import_upload(request, session, actor)
    except CatalogueRejected as rejected:
        state = FormState(status_code=rejected.status)
        return await _list_page(request, session, actor, state=state, rejected=rejected)
    except AppError as error:
        state = refused(error, fields=("file",))
        return await _list_page(request, session, actor, state=state)
    response = RedirectResponse("/admin/drugs", status_code=303)
    flash(
        request,
        response,
        IMPORTED_MESSAGE,
        total=result.total,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    return response


@router.post("/admin/drugs/{drug_id}/active", dependencies=CSRF)
async def active_submit(
    drug_id: DrugId,
    request: Request,
    session: DbSession,
    actor: Manager,
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Withdraw a drug from the catalogue or bring it back."""
    return await redirect_after(
        request,
        "/admin/drugs?include_inactive=true",
        set_drug_active(session, actor, drug_id=drug_id, active=active),
        lambda drug: Notice(
            REACTIVATED_MESSAGE if drug.active else DEACTIVATED_MESSAGE,
            "success",
            {"name": drug.generic_name_zh},
        ),
    )
