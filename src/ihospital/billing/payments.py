"""Payments: start one through a channel, and apply what the provider says happened to it.

Starting a payment is idempotent per account and idempotency key. It opens a prepay order at the
provider inside the request: no money moves then, and if our transaction fails the prepay order
simply expires unpaid. What the provider reports (a notification, or our query when none comes)
goes through :func:`apply_trade`, which is idempotent: a payment succeeds once, whatever the
number and order of the reports. A success is journalled (clearing ← patient), then charged to
the order (patient ← revenue) if the order can still take it; otherwise (the order expired, was
cancelled, or another payment paid it) the money is refunded automatically.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.events import ORDER_PAID, publish
from ihospital.billing.insurance.models import Settlement
from ihospital.billing.insurance.settlement import live_settlement
from ihospital.billing.ledger import (
    LedgerAccount,
    clearing_account,
    insurance_fund_account,
    patient_account,
    personal_account_fund,
    post,
    revenue_account,
)
from ihospital.billing.models import Order, Payment
from ihospital.billing.orders import (
    check_idempotency_key,
    finish_order,
    not_payable,
    order_expired,
)
from ihospital.billing.providers import Providers, provider_for
from ihospital.billing.providers.base import (
    ProviderDeclined,
    ProviderTimeout,
    TradeResult,
)
from ihospital.billing.refunds import refund_unapplied_payment
from ihospital.billing.repository import lock_order, lock_payment, order_lines, order_not_found
from ihospital.core.context import Actor
from ihospital.errors import Conflict, ServiceUnavailable
from ihospital.outbox.service import emit

log = logging.getLogger(__name__)

QUERY_TOPIC = "billing.payment_query"
QUERY_DELAYS = (timedelta(minutes=1), timedelta(minutes=3), timedelta(minutes=10))
"""When to ask the provider about a payment no notification has settled, counted from its
creation; after the last unanswered query the trade is closed."""


class AmountMismatch(Exception):
    """The provider reports a different amount than we asked for: never applied."""


async def start_payment(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    channel: str,
    idempotency_key: str,
    providers: Providers,
) -> Payment:
    """Start paying one of the actor's own bills; answers the payment with the URL where the
    payer pays. The same key returns the same payment. Refused: someone else's bill (not found),
    a bill that is paid, expired or cancelled."""
    check_idempotency_key(idempotency_key)
    provider = provider_for(providers, channel)
    order = await lock_order(session, order_id)
    if order.account_id != actor.account_id:
        raise order_not_found(order_id)
    existing = await session.scalar(
        select(Payment).where(
            Payment.account_id == actor.account_id, Payment.idempotency_key == idempotency_key
        )
    )
    if existing is not None:
        if (existing.order_id, existing.channel) != (order_id, channel):
            raise Conflict(
                "billing.idempotency_key_reused",
                "This idempotency key was already used for a different request.",
                field="idempotency_key",
            )
        return existing
    now = actor.clock.now()
    if order.status != "pending":
        raise not_payable(order)
    if now >= order.expires_at:
        raise order_expired()
    if order.total_fen == order.insured_fen:
        raise Conflict(
            "billing.nothing_to_pay",
            "Medical insurance pays all of this bill: there is nothing to pay online.",
        )
    payment = Payment(
        order_id=order.id,
        account_id=order.account_id,
        channel=channel,
        out_trade_no=f"P{now:%y%m%d}{secrets.token_hex(8).upper()}",
        amount_fen=order.total_fen - order.insured_fen,
        refunded_fen=0,
        status="created",
        idempotency_key=idempotency_key,
        created_at=now,
    )
    session.add(payment)
    await session.flush()
    try:
        prepay = await provider.create(
            out_trade_no=payment.out_trade_no,
            amount_fen=payment.amount_fen,
            description=order.title,
            expires_at=order.expires_at,
        )
    except ProviderTimeout:
        raise ServiceUnavailable(
            "billing.provider_unavailable",
            "The payment service did not answer. Please try again in a moment.",
        ) from None
    except ProviderDeclined:
        raise Conflict(
            "billing.payment_declined",
            "The payment service declined this payment. Try another payment method.",
        ) from None
    payment.pay_url = prepay.pay_url
    await session.flush()
    await schedule_query(session, actor, payment=payment, attempt=0)
    await _audit(session, actor, "billing.payment.create", payment, order, channel=channel)
    return payment


async def schedule_query(
    session: AsyncSession, actor: Actor, *, payment: Payment, attempt: int
) -> None:
    await emit(
        session,
        actor,
        topic=QUERY_TOPIC,
        payload={"payment_id": payment.id, "attempt": attempt},
        available_at=payment.created_at + QUERY_DELAYS[attempt],
        dedupe_key=f"{QUERY_TOPIC}:{payment.id}:{attempt}",
    )


async def apply_trade(
    session: AsyncSession, actor: Actor, *, payment_id: int, trade: TradeResult
) -> str:
    """Apply the provider's state of a payment's trade; answers what happened: ``paid``,
    ``refunded`` (the order could not take it), ``failed``, ``closed``, ``duplicate`` (already
    applied) or ``unchanged``. Raises :class:`AmountMismatch` when the amounts differ."""
    payment = await session.get(Payment, payment_id)
    if payment is None:
        raise LookupError(f"payment {payment_id} does not exist")
    order = await lock_order(session, payment.order_id)
    payment = await lock_payment(session, payment_id)
    if payment.status == "succeeded":
        return "duplicate"
    if trade.state == "SUCCESS":
        if trade.amount_fen != payment.amount_fen:
            raise AmountMismatch(
                f"payment {payment.id}: asked {payment.amount_fen}, told {trade.amount_fen}"
            )
        return await _succeeded(session, actor, order, payment, trade)
    if trade.state in ("PAYERROR", "CLOSED") and payment.status == "created":
        payment.status = "failed" if trade.state == "PAYERROR" else "closed"
        payment.closed_at = actor.clock.now()
        await session.flush()
        await _audit(session, actor, f"billing.payment.{payment.status}", payment, order)
        return payment.status
    return "unchanged"


async def _succeeded(
    session: AsyncSession, actor: Actor, order: Order, payment: Payment, trade: TradeResult
) -> str:
    now = actor.clock.now()
    paid_at = trade.paid_at or now
    payment.status = "succeeded"
    payment.provider_trade_no = trade.provider_trade_no or None
    payment.succeeded_at = paid_at
    await session.flush()
    await post(
        session,
        actor,
        kind="payment_received",
        postings=[
            (clearing_account(payment.channel), payment.amount_fen),
            (patient_account(order.patient_id), -payment.amount_fen),
        ],
        order_id=order.id,
        payment_id=payment.id,
    )
    await _audit(session, actor, "billing.payment.succeeded", payment, order)
    if order.status == "pending" and paid_at > order.expires_at:
        await finish_order(session, actor, order, status="expired")
    if order.status == "pending" and payment.amount_fen != order.total_fen - order.insured_fen:
        # started before the bill was settled with insurance: it no longer pays the bill
        await refund_unapplied_payment(
            session, actor, order=order, payment=payment, reason="duplicate_payment"
        )
        return "refunded"
    if order.status != "pending":
        reason = "duplicate_payment" if order.paid_at else "late_payment"
        await refund_unapplied_payment(session, actor, order=order, payment=payment, reason=reason)
        return "refunded"
    await charge_order(session, actor, order, payment=payment, paid_at=paid_at)
    return "paid"


async def charge_order(
    session: AsyncSession,
    actor: Actor,
    order: Order,
    *,
    payment: Payment | None,
    paid_at: datetime,
) -> None:
    """Mark a pending (locked) order paid: by ``payment``, or by medical insurance alone. The
    charge is journalled (patient ← revenue per line), and the part its settlement pays moves
    from the patient to the insurance fund and the personal accounts."""
    lines = await order_lines(session, order.id)
    order.status = "paid"
    order.paid_fen = order.total_fen
    order.paid_at = paid_at
    order.payment_id = payment.id if payment else None
    await session.flush()
    payment_id = payment.id if payment else None
    await post(
        session,
        actor,
        kind="order_charged",
        postings=[
            (patient_account(order.patient_id), order.total_fen),
            *(
                (revenue_account(line.kind, order.institution_id), -line.amount_fen)
                for line in lines
            ),
        ],
        order_id=order.id,
        payment_id=payment_id,
    )
    if order.insured_fen:
        settlement = await live_settlement(session, order.id)
        await post(
            session,
            actor,
            kind="insurance_settled",
            postings=insurance_postings(order, settlement, sign=1),
            order_id=order.id,
            payment_id=payment_id,
            memo=settlement.settlement_no,
        )
    await publish(session, actor, topic=ORDER_PAID, order=order, lines=lines)


def insurance_postings(
    order: Order, settlement: Settlement, *, sign: int
) -> list[tuple[LedgerAccount, int]]:
    """The patient's debt of ``order`` moving to the settlement pool's fund and personal
    accounts (``sign`` 1), or back (``sign`` -1, its reversal)."""
    region = settlement.policy_region_code or ""
    fund, account = settlement.hifp_pay, settlement.acct_pay
    return [
        (insurance_fund_account(region), sign * fund),
        (personal_account_fund(region), sign * account),
        (patient_account(order.patient_id), -sign * (fund + account)),
    ]


async def query_payment(
    session: AsyncSession, actor: Actor, *, payment_id: int, attempt: int, providers: Providers
) -> str:
    """Ask the provider about a payment still waiting (no notification came): apply the answer,
    ask again later, or after the last attempt close the trade so it can no longer be paid.
    A timeout raises :class:`ProviderTimeout`, so the outbox retries this query."""
    payment = await session.get(Payment, payment_id)
    if payment is None or payment.status != "created":
        return "settled"
    provider = provider_for(providers, payment.channel)
    trade = await provider.query(out_trade_no=payment.out_trade_no)
    outcome = await apply_trade(session, actor, payment_id=payment.id, trade=trade)
    if outcome != "unchanged":
        return outcome
    if attempt + 1 < len(QUERY_DELAYS):
        await schedule_query(session, actor, payment=payment, attempt=attempt + 1)
        return "waiting"
    await provider.close(out_trade_no=payment.out_trade_no)
    # The payer may have paid between the query and the close: the provider has the last word.
    trade = await provider.query(out_trade_no=payment.out_trade_no)
    if trade.state in ("NOTPAY", "NOT_FOUND"):
        trade = TradeResult(payment.out_trade_no, "CLOSED")
    return await apply_trade(session, actor, payment_id=payment.id, trade=trade)


async def _audit(
    session: AsyncSession,
    actor: Actor,
    action: str,
    payment: Payment,
    order: Order,
    **details: object,
) -> None:
    await record(
        session,
        actor,
        action=action,
        subject_type="billing_payment",
        subject_id=payment.id,
        patient_id=order.patient_id,
        details={"order_id": order.id, "amount_fen": payment.amount_fen, **details},
    )
