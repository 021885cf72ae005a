"""Pages of billing: my bills, one bill with its receipt, paying and cancelling; and the
sandbox payment page, which plays the payer at the sandbox provider."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ihospital.billing.api import detail
from ihospital.billing.orders import cancel_order, list_orders
from ihospital.billing.payments import start_payment
from ihospital.billing.providers.base import ProviderDeclined
from ihospital.billing.providers.sandbox import CHANNEL as SANDBOX
from ihospital.billing.providers.sandbox import SandboxProvider, SandboxTrade
from ihospital.billing.sandbox_delivery import schedule_deliveries
from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, anonymous_actor, check_csrf, require
from ihospital.errors import AppError, NotFound
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)
Payer = Annotated[Actor, Depends(require(Permission.BILLS_OWN))]
OrderId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CSRF = [Depends(check_csrf)]
PAGE_SIZE = 20


def _to_bill(order_id: int) -> RedirectResponse:
    return RedirectResponse(f"/bills/{order_id}", status_code=303)


@router.get("/bills", response_class=HTMLResponse)
async def bills_page(
    request: Request,
    session: DbSession,
    actor: Payer,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    orders, total = await list_orders(session, actor, page=page, page_size=PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    return render(
        request,
        "billing/bills.html",
        {"orders": orders, "page": page, "pages": pages, "yuan": format_yuan},
    )


@router.get("/bills/{order_id}", response_class=HTMLResponse)
async def bill_page(
    order_id: OrderId, request: Request, session: DbSession, actor: Payer
) -> Response:
    bill = await detail(request, session, actor, order_id)
    channels = sorted(request.app.state.payment_providers)
    context = {
        "bill": bill,
        "channels": channels,
        "yuan": format_yuan,
        "pay_key": secrets.token_urlsafe(16),
    }
    return render(request, "billing/bill.html", context)


@router.post("/bills/{order_id}/pay", dependencies=CSRF)
async def pay_submit(
    order_id: OrderId,
    request: Request,
    session: DbSession,
    actor: Payer,
    channel: Annotated[str, Form(min_length=1, max_length=16)],
    idempotency_key: Annotated[str, Form(min_length=1, max_length=128)],
) -> Response:
    try:
        payment = await start_payment(
            session,
            actor,
            order_id=order_id,
            channel=channel,
            idempotency_key=idempotency_key,
            providers=request.app.state.payment_providers,
        )
    except NotFound:
        raise
    except AppError as error:
        response = _to_bill(order_id)
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    return RedirectResponse(payment.pay_url, status_code=303)


@router.post("/bills/{order_id}/cancel", dependencies=CSRF)
async def cancel_submit(
    order_id: OrderId, request: Request, session: DbSession, actor: Payer
) -> Response:
    response = _to_bill(order_id)
    try:
        await cancel_order(
            session,
            actor,
            order_id=order_id,
            platform=request.app.state.insurance_platform,
            cipher=request.app.state.cipher,
        )
    except NotFound:
        raise
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, "The bill was cancelled.")
    return response


def _sandbox(request: Request) -> SandboxProvider:
    return request.app.state.payment_providers[SANDBOX]


async def _sandbox_trade(request: Request, prepay_id: str) -> SandboxTrade:
    trade = await _sandbox(request).trade_by_prepay(prepay_id)
    if trade is None:
        raise NotFound("billing.sandbox_trade_not_found", "There is nothing to pay here.")
    return trade


@router.get("/billing/sandbox/pay/{prepay_id}", response_class=HTMLResponse)
async def sandbox_pay_page(
    request: Request, prepay_id: Annotated[str, Path(min_length=1, max_length=64)]
) -> Response:
    """The payer's side at the sandbox provider: the amount, and pay or decline."""
    trade = await _sandbox_trade(request, prepay_id)
    return render(
        request,
        "billing/sandbox_pay.html",
        {"trade": trade, "yuan": format_yuan},
    )


@router.post("/billing/sandbox/pay/{prepay_id}", dependencies=CSRF)
async def sandbox_pay_submit(
    request: Request,
    session: DbSession,
    prepay_id: Annotated[str, Path(min_length=1, max_length=64)],
    decision: Annotated[str, Form(pattern="^(pay|decline)$")],
    plan: Annotated[str, Form(pattern="^(prompt|late|twice|never)$")] = "prompt",
) -> Response:
    """Pay (the notifications follow the chosen delivery plan) or decline (none is sent; the
    app finds out by querying)."""
    trade = await _sandbox_trade(request, prepay_id)
    response = RedirectResponse(f"/billing/sandbox/pay/{prepay_id}", status_code=303)
    try:
        if decision == "pay":
            deliveries = await _sandbox(request).pay(prepay_id, plan=plan)
            await schedule_deliveries(session, anonymous_actor(request), deliveries=deliveries)
        else:
            await _sandbox(request).decline(prepay_id)
    except ProviderDeclined:
        flash(request, response, "This payment can no longer be made.", kind="error")
        return response
    flash(
        request,
        response,
        "Paid {amount}." if decision == "pay" else "The payment was declined.",
        amount=format_yuan(trade.amount_fen),
    )
    return response
