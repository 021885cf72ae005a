"""Pharmacists' delivery pages (issue 6, items 6–7): one order of the institution with its
carrier tracking and temperature readings, shipping it with the carrier (again after a failed
delivery), refunding a failed delivery, deciding on a cold-chain excursion, and a parcel that
came back (its arrival, then restock or destroy). Plain forms; no script needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.core.schemas import Schema
from ihospital.deps import DbSession, check_csrf, require
from ihospital.identity.forms import FormState, parse_form
from ihospital.pharmacy.delivery import (
    Delivering,
    current_shipment,
    decide_order_excursion,
    refund_failed,
    ship_order,
    tracking,
)
from ihospital.pharmacy.pages import act
from ihospital.pharmacy.return_schemas import ReturnDecision
from ihospital.pharmacy.returns import comes_back, decide_return, receive_return, return_of
from ihospital.pharmacy.service import get_order
from ihospital.pharmacy.shipment_schemas import ExcursionDecision
from ihospital.security.permissions import Permission
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Pharmacist = Annotated[Actor, Depends(require(Permission.PHARMACY_DISPENSE))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
DECISIONS = {"accept": True, "reject": False}
S = TypeVar("S", bound=Schema)
DECIDED_MESSAGES = {
    "restock": "The drugs are back in stock.",
    "destroy": "The drugs are written off.",
}


async def _order_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    order_id: int,
    values: dict[str, str],
    state: FormState,
) -> Response:
    view = await get_order(session, actor, order_id=order_id)
    context = {
        "view": view,
        "order": view.order,
        "delivering": Delivering(view.order, await current_shipment(session, view.order)),
        "tracking": await tracking(session, view.order),
        "comes_back": comes_back(view.order),
        "returned": await return_of(session, view.order.id),
        "yuan": format_yuan,
        "values": values,
        **state.context(),
    }
    return render(request, "pharmacy/staff_order.html", context, status_code=state.status_code)


async def _decision(
    request: Request,
    session: DbSession,
    actor: Actor,
    order_id: int,
    schema: type[S],
    choice: tuple[str, Callable[[str], object]],
    text: str,
) -> tuple[S, None] | tuple[None, Response]:
    """A decision form: the button pressed (``decision``) read into the schema's ``choice``
    field, and its ``text`` field; invalid, the order page again with the messages."""
    form = await request.form()
    values = {text: str(form.get(text, "")).strip()}
    field, read = choice
    parsed, state = parse_form(schema, {field: read(str(form.get("decision", ""))), **values})
    if parsed is None:
        return None, await _order_page(request, session, actor, order_id, values, state)
    return parsed, None


@router.get("/pharmacy/orders/{order_id}")
async def staff_order_page(
    order_id: RecordId, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """One order of the institution: its drugs, the carrier's scans and readings, and what the
    pharmacist can do next."""
    return await _order_page(request, session, actor, order_id, {}, FormState())


@router.post("/pharmacy/orders/{order_id}/ship", dependencies=CSRF)
async def ship_submit(
    order_id: RecordId, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Book the carrier for a dispensed delivery (or again after a failed one)."""
    action = ship_order(session, actor, order_id=order_id, carriers=request.app.state.carriers)
    return await act(request, f"/pharmacy/orders/{order_id}", action, "The order is shipped.")


@router.post("/pharmacy/orders/{order_id}/refund", dependencies=CSRF)
async def refund_submit(
    order_id: RecordId, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Give up a failed delivery: cancelled and refunded."""
    action = refund_failed(session, actor, order_id=order_id)
    done = "The order is cancelled; anything paid is refunded."
    return await act(request, f"/pharmacy/orders/{order_id}", action, done)


@router.post("/pharmacy/orders/{order_id}/excursion-decision", dependencies=CSRF)
async def excursion_submit(
    order_id: RecordId, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Accept the parcel after a cold-chain excursion, or reject it (returned and refunded)."""
    parsed, page = await _decision(
        request, session, actor, order_id, ExcursionDecision, ("accept", DECISIONS.get), "note"
    )
    if parsed is None:
        return page
    action = decide_order_excursion(
        session, actor, order_id=order_id, accept=parsed.accept, note=parsed.note
    )
    done = "The decision on the temperature excursion is recorded."
    return await act(request, f"/pharmacy/orders/{order_id}", action, done)


@router.post("/pharmacy/orders/{order_id}/return", dependencies=CSRF)
async def return_submit(
    order_id: RecordId, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Record that the parcel of a refunded or rejected delivery came back."""
    action = receive_return(session, actor, order_id=order_id)
    done = "The returned parcel is recorded; decide what becomes of its drugs."
    return await act(request, f"/pharmacy/orders/{order_id}", action, done)


@router.post("/pharmacy/orders/{order_id}/return/decision", dependencies=CSRF)
async def return_decision_submit(
    order_id: RecordId, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Restock the returned drugs, or destroy them with a reason."""
    parsed, page = await _decision(
        request, session, actor, order_id, ReturnDecision, ("decision", str), "reason"
    )
    if parsed is None:
        return page
    action = decide_return(
        session, actor, order_id=order_id, decision=parsed.decision, reason=parsed.reason
    )
    done = DECIDED_MESSAGES[parsed.decision]
    return await act(request, f"/pharmacy/orders/{order_id}", action, done)
