"""Pharmacy order pages: the patient buys the drugs of an approved prescription (pharmacies with
prices and stock, delivery or pick-up, the risk notice of R19), follows the order and shows the
pick-up code (长辈模式: the same pages with large type and fewer details); the institution's
pharmacists dispense and hand orders over at the window (shipping and the tracking pages are
in :mod:`ihospital.pharmacy.delivery_pages`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.pharmacy.api import delivery_of
from ihospital.pharmacy.delivery import tracking
from ihospital.pharmacy.orders import candidate_pharmacies, place_order
from ihospital.pharmacy.returns import returns_to_handle
from ihospital.pharmacy.schemas import HandOverCreate, PharmacyOrderCreate
from ihospital.pharmacy.service import (
    dispense_order,
    get_order,
    hand_over,
    my_orders,
    orders_to_handle,
    waiting_for_decision,
)
from ihospital.pharmacy.states import cancel_order
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Buyer = Annotated[Actor, Depends(require(Permission.PHARMACY_ORDERS_OWN))]
Pharmacist = Annotated[Actor, Depends(require(Permission.PHARMACY_DISPENSE))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ORDER_FIELDS = (
    "pharmacy_id",
    "fulfilment",
    "risk_notice_confirmed",
    "recipient_name",
    "recipient_phone",
    "address",
)
STAFF_QUEUE = "/pharmacy/orders"


async def _buy_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    prescription_id: int,
    values: dict[str, Any],
    state: FormState,
) -> Response:
    prescription, candidates = await candidate_pharmacies(
        session, actor, prescription_id=prescription_id
    )
    context = {
        "prescription": prescription,
        "candidates": candidates,
        "values": values,
        "yuan": format_yuan,
        **state.context(),
    }
    return render(request, "pharmacy/buy.html", context, status_code=state.status_code)


@router.get("/prescriptions/{prescription_id}/buy")
async def buy_page(
    prescription_id: RecordId, request: Request, session: DbSession, actor: Buyer
) -> Response:
    """Where the approved prescription can be filled, and the order form."""
    return await _buy_page(request, session, actor, prescription_id, {}, FormState())


@router.post("/prescriptions/{prescription_id}/buy", dependencies=CSRF)
async def buy_submit(
    prescription_id: RecordId, request: Request, session: DbSession, actor: Buyer
) -> Response:
    """Order the drugs at the chosen pharmacy; then pay the bill."""
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in ORDER_FIELDS}
    fields = {
        **{name: values[name] or None for name in ORDER_FIELDS},
        "prescription_id": prescription_id,
        "risk_notice_confirmed": values["risk_notice_confirmed"] == "1",
    }
    if values["fulfilment"] == "pickup":
        fields.update(recipient_name=None, recipient_phone=None, address=None)
    parsed, state = parse_form(PharmacyOrderCreate, fields)
    if parsed is not None:
        try:
            order = await place_order(
                session,
                actor,
                prescription_id=prescription_id,
                pharmacy_id=parsed.pharmacy_id,
                fulfilment=parsed.fulfilment,
                risk_notice_confirmed=parsed.risk_notice_confirmed,
                delivery=delivery_of(parsed),
            )
        except NotFound as error:
            if error.code != "pharmacy.not_found":
                raise
            state = refused(error, fields=ORDER_FIELDS)
        except AppError as error:
            state = refused(error, fields=ORDER_FIELDS)
        else:
            response = RedirectResponse(f"/pharmacy-orders/{order.id}", status_code=303)
            flash(request, response, "The drugs are reserved for you; pay the bill to confirm.")
            return response
    return await _buy_page(request, session, actor, prescription_id, values, state)


@router.get("/pharmacy-orders")
async def orders_page(request: Request, session: DbSession, actor: Buyer) -> Response:
    """The account's pharmacy orders."""
    return render(request, "pharmacy/orders.html", {"orders": await my_orders(session, actor)})


@router.get("/pharmacy-orders/{order_id}")
async def order_page(
    order_id: RecordId, request: Request, session: DbSession, actor: Buyer
) -> Response:
    """One order: its drugs, where it stands (tracking), the bill and the pick-up code."""
    view = await get_order(session, actor, order_id=order_id)
    context = {
        "view": view,
        "order": view.order,
        "tracking": await tracking(session, view.order),
        "yuan": format_yuan,
    }
    return render(request, "pharmacy/order.html", context)


@router.post("/pharmacy-orders/{order_id}/cancel", dependencies=CSRF)
async def cancel_submit(
    order_id: RecordId, request: Request, session: DbSession, actor: Buyer
) -> Response:
    """Cancel the order before it is dispensed."""
    return await act(
        request,
        f"/pharmacy-orders/{order_id}",
        cancel_order(session, actor, order_id=order_id, reason="patient"),
        "The order is cancelled; anything paid is refunded.",
    )


async def act(request: Request, back: str, action: Any, done: str) -> Response:
    """Run ``action`` and go back to ``back`` with ``done``, or with the refusal."""
    response = RedirectResponse(back, status_code=303)
    try:
        await action
    except NotFound:
        raise
    except AppError as error:
        values = {key: str(value) for key, value in error.fields.items()}
        flash(request, response, error.message, kind="error", **values)
    else:
        flash(request, response, done)
    return response


@router.get("/pharmacy/orders")
async def queue_page(request: Request, session: DbSession, actor: Pharmacist) -> Response:
    """The institution's orders to dispense, ship, deliver or hand over: first the deliveries
    that need a decision, and the parcels that came back."""
    orders = await orders_to_handle(session, actor)
    context = {
        "orders": orders,
        "decisions": await waiting_for_decision(session, orders),
        "returns": await returns_to_handle(session, actor),
    }
    return render(request, "pharmacy/queue.html", context)


@router.post("/pharmacy/orders/{order_id}/dispense", dependencies=CSRF)
async def dispense_submit(
    order_id: RecordId, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Dispense a paid order (the prescription is filled, R19)."""
    action = dispense_order(session, actor, order_id=order_id)
    return await act(request, STAFF_QUEUE, action, "The order is dispensed.")


@router.post("/pharmacy/orders/{order_id}/hand-over", dependencies=CSRF)
async def hand_over_submit(
    order_id: RecordId, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """窗口取药: hand the order over when the patient's code matches."""
    form = await request.form()
    parsed, _ = parse_form(HandOverCreate, {"code": str(form.get("code", "")).strip()})
    code = parsed.code if parsed is not None else ""  # malformed: a wrong code, counted
    # the refusal is shown on the queue, so the used-up try commits with the request
    action = hand_over(session, actor, order_id=order_id, code=code)
    return await act(request, STAFF_QUEUE, action, "The drugs are handed over.")
