"""JSON routes of billing (``/api/billing``): bills, payments, refunds, receipts and the
providers' notification endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from ihospital.billing.checkout import (
    Choice,
    SettlementPending,
    confirm_checkout,
    preview_checkout,
)
from ihospital.billing.notify import NotificationRefused, receive_notification
from ihospital.billing.orders import LineItem, cancel_order, create_order, get_order, list_orders
from ihospital.billing.payments import start_payment
from ihospital.billing.receipts import receipt_of, verify_receipt
from ihospital.billing.refunds import request_refund
from ihospital.billing.schemas import (
    CheckoutChoice,
    CheckoutConfirm,
    CheckoutLineRead,
    CheckoutPreviewRead,
    CheckoutRead,
    NotificationAck,
    OrderCreate,
    OrderDetail,
    OrderPage,
    OrderRead,
    PaymentCreate,
    PaymentRead,
    ReceiptRead,
    RefundCreate,
    RefundRead,
)
from ihospital.core.context import Actor
from ihospital.core.i18n import current_language
from ihospital.core.problems import ProblemResponse
from ihospital.deps import DbSession, anonymous_actor, require
from ihospital.errors import NotFound
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api/billing", tags=["billing"])

Payer = Annotated[Actor, Depends(require(Permission.BILLS_OWN))]
Finance = Annotated[Actor, Depends(require(Permission.BILLING_MANAGE))]
OrderId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The bill's id.")]


async def detail(request: Request, session: DbSession, actor: Actor, order_id: int) -> OrderDetail:
    """A bill as its reader may see it, with its receipt once paid (the read is audited)."""
    view = await get_order(session, actor, order_id=order_id)
    receipt = receipt_of(view.order, secret_key=request.app.state.settings.secret_key)
    return OrderDetail.of(view, receipt)


@router.post("/orders", status_code=201)
async def bill_patient(
    body: OrderCreate, request: Request, session: DbSession, actor: Finance
) -> OrderDetail:
    """Bill a 就诊人 for the institution (other domains call the service directly). The same
    ``idempotency_key`` answers the same bill."""
    order = await create_order(
        session,
        actor,
        patient_id=body.patient_id,
        institution_id=body.institution_id,
        title=body.title,
        hold_minutes=body.hold_minutes,
        idempotency_key=body.idempotency_key,
        lines=[
            LineItem(
                kind=line.kind,
                subject_type=line.subject_type,
                subject_id=line.subject_id,
                description=line.description,
                unit_price_fen=line.unit_price,
                quantity=line.quantity,
                drug_class=line.drug_class,
                online_follow_up=line.online_follow_up,
            )
            for line in body.lines
        ],
    )
    return await detail(request, session, actor, order.id)


@router.get("/orders")
async def my_bills(
    session: DbSession,
    actor: Payer,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OrderPage:
    """The bills of the account's 就诊人, newest first."""
    orders, total = await list_orders(session, actor, page=page, page_size=page_size)
    return OrderPage(
        items=[OrderRead.model_validate(order) for order in orders],
        total=total,
        page=page,
        page_size=page_size,
    )


@router.get("/orders/{order_id}")
async def my_bill(
    order_id: OrderId, request: Request, session: DbSession, actor: Payer
) -> OrderDetail:
    """One bill with its lines, payments, refunds and receipt."""
    return await detail(request, session, actor, order_id)


@router.get("/institution/orders/{order_id}")
async def institution_bill(
    order_id: OrderId, request: Request, session: DbSession, actor: Finance
) -> OrderDetail:
    """One bill of the staff member's institution."""
    return await detail(request, session, actor, order_id)


@router.post("/orders/{order_id}/payments", status_code=201)
async def pay_bill(
    order_id: OrderId, body: PaymentCreate, request: Request, session: DbSession, actor: Payer
) -> PaymentRead:
    """Start paying a bill through a channel; ``pay_url`` is where the payer pays. The same
    ``idempotency_key`` answers the same payment."""
    payment = await start_payment(
        session,
        actor,
        order_id=order_id,
        channel=body.channel,
        idempotency_key=body.idempotency_key,
        providers=request.app.state.payment_providers,
    )
    return PaymentRead.model_validate(payment)


@router.post("/orders/{order_id}/checkout/preview")
async def preview_bill(
    order_id: OrderId, body: CheckoutChoice, session: DbSession, actor: Payer
) -> CheckoutPreviewRead:
    """How a bill splits between medical insurance and the payer, per line and in total."""
    preview = await preview_checkout(
        session, actor, order_id=order_id, choice=Choice(**body.model_dump())
    )
    return CheckoutPreviewRead(
        order_id=preview.order.id,
        lines=[
            CheckoutLineRead(line_id=line.id, description=line.description, parts=parts.as_dict())
            for line, parts in preview.lines
        ],
        total=preview.total.as_dict(),
        settlement_status=preview.settlement_status,
    )


@router.post(
    "/orders/{order_id}/checkout",
    responses={503: {"description": "The insurance platform did not answer; try again."}},
)
async def check_out(
    order_id: OrderId, body: CheckoutConfirm, request: Request, session: DbSession, actor: Payer
) -> CheckoutRead:
    """Settle a bill with medical insurance as chosen and start paying the payer's share; when
    insurance pays everything the bill is paid at once (``payment`` is null)."""
    choice = Choice(body.use_insurance, body.use_personal_account, body.self_pay_agreed)
    try:
        outcome = await confirm_checkout(
            session,
            actor,
            order_id=order_id,
            choice=choice,
            channel=body.channel,
            idempotency_key=body.idempotency_key,
            providers=request.app.state.payment_providers,
            platform=request.app.state.insurance_platform,
            cipher=request.app.state.cipher,
        )
    except SettlementPending:
        # the pending settlement and its holds are kept: confirming again completes it
        await session.commit()
        raise
    return CheckoutRead(
        order=OrderRead.model_validate(outcome.order),
        payment=PaymentRead.model_validate(outcome.payment) if outcome.payment else None,
    )


@router.post("/orders/{order_id}/cancel")
async def cancel_bill(
    order_id: OrderId, request: Request, session: DbSession, actor: Payer
) -> OrderDetail:
    """Give up an unpaid bill; what it held (a slot, stock) is released."""
    await cancel_order(
        session,
        actor,
        order_id=order_id,
        platform=request.app.state.insurance_platform,
        cipher=request.app.state.cipher,
    )
    return await detail(request, session, actor, order_id)


@router.post("/orders/{order_id}/refunds", status_code=201)
async def refund_bill(
    order_id: OrderId, body: RefundCreate, request: Request, session: DbSession, actor: Finance
) -> RefundRead:
    """Refund part or all of a paid bill (one line with ``line_id``); never more than was paid.
    The cash part (``amount_fen``) is paid out by the provider shortly after; on a bill settled
    with medical insurance the settlement is reversed and what is left settled again, and the
    insured part (``insured_fen``) goes back to the fund."""
    refund = await request_refund(
        session,
        actor,
        order_id=order_id,
        amount_fen=body.amount,
        line_id=body.line_id,
        note=body.note,
        idempotency_key=body.idempotency_key,
        platform=request.app.state.insurance_platform,
        cipher=request.app.state.cipher,
    )
    return RefundRead.model_validate(refund)


@router.get("/receipts/verify")
async def check_receipt(
    request: Request,
    session: DbSession,
    number: Annotated[str, Query(min_length=1, max_length=32)],
    code: Annotated[str, Query(min_length=1, max_length=32)],
) -> ReceiptRead:
    """Check a receipt's verification code (查验): answers the receipt when it is genuine."""
    receipt = await verify_receipt(
        session,
        anonymous_actor(request),
        number=number,
        code=code,
        secret_key=request.app.state.settings.secret_key,
    )
    if receipt is None:
        raise NotFound(
            "billing.receipt_not_valid",
            "No receipt has this number and verification code.",
        )
    return ReceiptRead.model_validate(receipt)


@router.post(
    "/notify/{channel}",
    responses={400: {"description": "Refused: bad signature, stale, unknown trade …"}},
)
async def provider_notification(
    channel: Annotated[str, Path(min_length=1, max_length=16)],
    request: Request,
    session: DbSession,
) -> Response:
    """Where a payment provider sends its signed notifications (支付结果通知). Anything that
    fails verification is refused with 400 and audited; repeats are acknowledged, once applied."""
    body = await request.body()
    try:
        outcome = await receive_notification(
            session,
            anonymous_actor(request),
            channel=channel,
            headers=request.headers,
            body=body,
            providers=request.app.state.payment_providers,
        )
    except NotificationRefused as refused:
        # Answered, not raised, so that the audit entry of the refusal is committed.
        problem = refused.to_problem(current_language.get(), request.url.path)
        return ProblemResponse(problem, refused.status)
    return Response(
        NotificationAck(outcome=outcome).model_dump_json(), media_type="application/json"
    )
