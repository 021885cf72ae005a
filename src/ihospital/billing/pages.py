"""Pages of billing: my bills, one bill with its receipt, checking out (the split between medical
insurance and the payer, then paying the cash part) and cancelling; and the sandbox payment
page, which plays the payer at the sandbox provider."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.api import detail
from ihospital.billing.checkout import (
    Choice,
    Preview,
    SettlementPending,
    confirm_checkout,
    preview_checkout,
)
from ihospital.billing.insurance.api import coverage_read
from ihospital.billing.insurance.coverage import find_coverage
from ihospital.billing.insurance.schemas import CoverageRead
from ihospital.billing.orders import cancel_order, list_orders
from ihospital.billing.providers.base import ProviderDeclined
from ihospital.billing.providers.sandbox import CHANNEL as SANDBOX
from ihospital.billing.providers.sandbox import SandboxProvider, SandboxTrade
from ihospital.billing.sandbox_delivery import schedule_deliveries
from ihospital.billing.schemas import OrderDetail
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


@dataclass(frozen=True)
class Checkout:
    """What the checkout form of a bill shows: the 就诊人's coverage (None: there is no insurance
    to choose), the choice in effect, its split (None when the bill cannot be paid now) and why
    medical insurance was refused, when it was (the split is then the one without it)."""

    coverage: CoverageRead | None
    choice: Choice
    preview: Preview | None
    refusal: AppError | None = None


def payer_choice(
    use_insurance: Annotated[bool, Form()] = False,
    use_personal_account: Annotated[bool, Form()] = False,
    self_pay_agreed: Annotated[bool, Form()] = False,
) -> Choice:
    """The payer's choice as the checkout form sends it (a box left unticked is not sent).
    Agreeing to pay everything as self-pay is a way of using the coverage."""
    return Choice(use_insurance or self_pay_agreed, use_personal_account, self_pay_agreed)


PayerChoice = Annotated[Choice, Depends(payer_choice)]


async def _checkout(
    session: AsyncSession, actor: Actor, bill: OrderDetail, requested: Choice | None
) -> Checkout:
    """The split of an unpaid bill under the payer's choice (by default: with the coverage, when
    the 就诊人 has one). When insurance is refused, the refusal and the split without it."""
    found = await find_coverage(session, actor, patient_id=bill.patient_id)
    coverage = coverage_read(found) if found else None
    if coverage is None:
        choice = Choice(use_insurance=False)
    else:
        choice = requested or Choice(use_insurance=True)
    try:
        preview = await preview_checkout(session, actor, order_id=bill.id, choice=choice)
    except AppError as refusal:
        if not choice.use_insurance:
            return Checkout(coverage, choice, None, refusal)
        without = Choice(use_insurance=False)
        try:
            preview = await preview_checkout(session, actor, order_id=bill.id, choice=without)
        except AppError:
            return Checkout(coverage, without, None, refusal)
        return Checkout(coverage, without, preview, refusal)
    return Checkout(coverage, choice, preview)


async def _bill_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    order_id: int,
    *,
    choice: Choice | None = None,
    template: str = "billing/bill.html",
) -> Response:
    """The bill, and while it is unpaid its checkout form; ``template`` may be the form alone
    (the htmx refresh of the split)."""
    bill = await detail(request, session, actor, order_id)
    checkout = None
    if bill.status == "pending":
        checkout = await _checkout(session, actor, bill, choice)
    context = {
        "bill": bill,
        "checkout": checkout,
        "channels": sorted(request.app.state.payment_providers),
        "yuan": format_yuan,
        "pay_key": secrets.token_urlsafe(16),
    }
    return render(request, template, context)


@router.get("/bills/{order_id}", response_class=HTMLResponse)
async def bill_page(
    order_id: OrderId, request: Request, session: DbSession, actor: Payer
) -> Response:
    return await _bill_page(request, session, actor, order_id)


@router.post("/bills/{order_id}/checkout/preview", dependencies=CSRF)
async def checkout_preview_submit(
    order_id: OrderId, request: Request, session: DbSession, actor: Payer, choice: PayerChoice
) -> Response:
    """The split under another choice: the whole page for a plain form, the checkout form
    alone for htmx."""
    partial = request.headers.get("HX-Request") == "true"
    template = "billing/_checkout.html" if partial else "billing/bill.html"
    return await _bill_page(request, session, actor, order_id, choice=choice, template=template)


@router.post("/bills/{order_id}/pay", dependencies=CSRF)
async def pay_submit(
    order_id: OrderId,
    request: Request,
    session: DbSession,
    actor: Payer,
    channel: Annotated[str, Form(min_length=1, max_length=16)],
    idempotency_key: Annotated[str, Form(min_length=1, max_length=128)],
    choice: PayerChoice,
) -> Response:
    """Check out as chosen (confirm_checkout): settle with insurance, then pay the cash part at
    the provider; a refusal changes nothing and is shown on the bill, except that a settlement
    the platform has not answered is kept, so that paying again completes it."""
    response = _to_bill(order_id)
    attempt = await session.begin_nested()
    try:
        outcome = await confirm_checkout(
            session,
            actor,
            order_id=order_id,
            choice=choice,
            channel=channel,
            idempotency_key=idempotency_key,
            providers=request.app.state.payment_providers,
            platform=request.app.state.insurance_platform,
            cipher=request.app.state.cipher,
        )
    except SettlementPending as pending:
        await attempt.commit()
        flash(request, response, pending.message, kind="warning")
        return response
    except NotFound:
        raise
    except AppError as error:
        await attempt.rollback()
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    await attempt.commit()
    if outcome.payment is None:
        flash(request, response, "Medical insurance paid the whole bill.")
        return response
    return RedirectResponse(outcome.payment.pay_url, status_code=303)


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
