"""The doctor's price-list page: their fees per consultation type at each institution where
they practise, and the form to set one (in yuan)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.models import TYPES
from ihospital.consultation.prices import list_prices, set_price
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.money import InvalidAmount, format_yuan, parse_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import form_text
from ihospital.directory.practitioners import get_own_practitioner
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, refused
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
PricingDoctor = Annotated[Actor, Depends(require(Permission.PRACTITIONER_SELF))]
FIELDS = ("institution_id", "consultation_type", "fee")
INSTITUTION_MESSAGE = "Choose an institution where you practise."


async def _prices_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    values: dict[str, str] | None = None,
    state: FormState | None = None,
) -> Response:
    state = state or FormState()
    doctor = await get_own_practitioner(session, actor)
    institutions = {site.institution.id: site.institution for site in doctor.sites}
    context: dict[str, Any] = {
        "prices": await list_prices(session, actor),
        "institutions": institutions,
        "types": TYPES,
        "values": values or {},
        "yuan": format_yuan,
        **state.context(),
    }
    return render(
        request, "consultation/doctor_prices.html", context, status_code=state.status_code
    )


@router.get("/doctor/consultation-prices")
async def prices_page(request: Request, session: DbSession, actor: PricingDoctor) -> Response:
    """The signed-in doctor's consultation fees and the form to set one."""
    return await _prices_page(request, session, actor)


@router.post("/doctor/consultation-prices", dependencies=CSRF)
async def prices_submit(request: Request, session: DbSession, actor: PricingDoctor) -> Response:
    """Set one fee (yuan) for one type at one institution; refusals next to their fields."""
    values = await form_text(request, FIELDS)
    state = FormState(status_code=422)
    if re.fullmatch(r"[0-9]{1,18}", values["institution_id"]) is None:
        state.errors["institution_id"] = translate(INSTITUTION_MESSAGE)
    try:
        fee_fen = parse_yuan(values["fee"])
    except InvalidAmount as error:
        state.errors["fee"] = translate(str(error))
    if not state.errors:
        try:
            async with session.begin_nested():  # a refusal leaves nothing behind
                await set_price(
                    session,
                    actor,
                    institution_id=int(values["institution_id"]),
                    consultation_type=values["consultation_type"],
                    fee_fen=fee_fen,
                )
        except AppError as error:
            state = refused(error, fields=("institution_id", "consultation_type", "fee_fen"))
            if "fee_fen" in state.errors:
                state.errors["fee"] = state.errors.pop("fee_fen")
        else:
            response = RedirectResponse("/doctor/consultation-prices", status_code=303)
            flash(request, response, "The consultation fee was saved.")
            return response
    return await _prices_page(request, session, actor, values=values, state=state)
