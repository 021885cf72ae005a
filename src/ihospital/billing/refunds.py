"""Refunds: never more than was paid, always journalled, paid out by the provider after commit.

A refund is recorded and journalled in the transaction that decides it (revenue or the patient
← refunds payable) with the payment row locked, so concurrent refunds of one payment cannot
together exceed it (the database also checks ``refunded_fen <= amount_fen``). The provider is
called afterwards by an outbox handler with ``out_refund_no`` as idempotency key; when it pays
out, refunds payable ← clearing. A refund the provider refuses stays owed (``failed``) for the
institution's finance staff to pay by other means.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.ledger import (
    clearing_account,
    patient_account,
    post,
    refunds_payable_account,
    revenue_account,
)
from ihospital.billing.models import Order, OrderLine, Payment, Refund
from ihospital.billing.orders import check_idempotency_key, may_see
from ihospital.billing.providers import Providers, provider_for
from ihospital.billing.providers.base import ProviderDeclined
from ihospital.billing.repository import (
    lock_order,
    lock_payment,
    lock_refund,
    order_lines,
    order_not_found,
)
from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.errors import Conflict, Forbidden, Unprocessable
from ihospital.outbox.service import emit
from ihospital.security.permissions import Role

EXECUTE_TOPIC = "billing.refund_execute"
REFUNDABLE = ("paid", "partially_refunded")
NOTE_MAX_LENGTH = 256


async def request_refund(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    amount_fen: int,
    idempotency_key: str,
    line_id: int | None = None,
    note: str = "",
) -> Refund:
    """Refund part or all of a paid bill (institution admins of its institution, platform
    admins). With ``line_id`` the refund comes off that line, else off the lines from the last.
    Refused: more than is left to refund (of the bill or the line), nothing or a negative
    amount, a bill that is not paid. The same key returns the same refund."""
    check_idempotency_key(idempotency_key)
    if len(note) > NOTE_MAX_LENGTH:
        raise Unprocessable(
            "billing.note_too_long", "Enter at most {limit} characters.", field="note", limit=256
        )
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise Unprocessable(
            "billing.amount_zero", "An amount must be more than zero.", field="amount"
        )
    order = await lock_order(session, order_id)
    if not (may_see(actor, order) and actor.role in (Role.INSTITUTION_ADMIN, Role.PLATFORM_ADMIN)):
        if may_see(actor, order):
            raise Forbidden("billing.refund_forbidden", "Only the institution may refund a bill.")
        raise order_not_found(order_id)
    key = f"requested:{actor.account_id}:{idempotency_key}"
    existing = await session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if existing is not None:
        if (existing.order_id, existing.amount_fen, existing.line_id) != (
            order_id,
            amount_fen,
            line_id,
        ):
            raise Conflict(
                "billing.idempotency_key_reused",
                "This idempotency key was already used for a different request.",
                field="idempotency_key",
            )
        return existing
    if order.status not in REFUNDABLE or order.payment_id is None:
        raise Conflict("billing.order_not_refundable", "Only a paid bill can be refunded.")
    if order.insured_fen:
        # The insured part goes back to the fund, not to the patient: until refunds reverse
        # the settlement, an insured bill is refunded at the insurance counter, never here.
        raise Conflict(
            "billing.insured_refund_unavailable",
            "A bill settled with medical insurance is refunded at the hospital's insurance "
            "counter.",
        )
    payment = await lock_payment(session, order.payment_id)
    left = payment.amount_fen - payment.refunded_fen
    if amount_fen > left:
        raise _too_much(left)
    lines = await order_lines(session, order.id)
    taken = _allocate(lines, amount_fen, line_id)
    refund = await _record_refund(
        session, actor, order, payment, amount_fen=amount_fen, reason="requested", key=key
    )
    refund.line_id = line_id
    refund.note = note.strip()
    order.refunded_fen += amount_fen
    order.status = "refunded" if order.refunded_fen == order.total_fen else "partially_refunded"
    await session.flush()
    await post(
        session,
        actor,
        kind="refund_requested",
        postings=[
            *((revenue_account(line.kind, order.institution_id), amount) for line, amount in taken),
            (refunds_payable_account(payment.channel), -amount_fen),
        ],
        order_id=order.id,
        payment_id=payment.id,
        refund_id=refund.id,
    )
    await _audit(session, actor, "billing.refund.request", refund, order)
    return refund


async def refund_unapplied_payment(
    session: AsyncSession, actor: Actor, *, order: Order, payment: Payment, reason: str
) -> Refund:
    """Return a payment the order could not take (it expired, was cancelled, or another
    payment paid it): the whole of it goes back to the payer (locked rows)."""
    amount = payment.amount_fen - payment.refunded_fen
    refund = await _record_refund(
        session,
        actor,
        order,
        payment,
        amount_fen=amount,
        reason=reason,
        key=f"{reason}:{payment.id}",
    )
    await post(
        session,
        actor,
        kind="refund_requested",
        postings=[
            (patient_account(order.patient_id), amount),
            (refunds_payable_account(payment.channel), -amount),
        ],
        order_id=order.id,
        payment_id=payment.id,
        refund_id=refund.id,
    )
    await _audit(session, actor, "billing.refund.automatic", refund, order)
    return refund


async def execute_refund(
    session: AsyncSession, actor: Actor, *, refund_id: int, providers: Providers
) -> str:
    """Ask the provider to pay a recorded refund out (outbox handler). A timeout raises, so the
    outbox retries with the same ``out_refund_no``; a refusal leaves the refund ``failed``."""
    refund = await session.get(Refund, refund_id)
    if refund is None or refund.status != "pending":
        return "settled"
    order = await lock_order(session, refund.order_id)
    payment = await lock_payment(session, refund.payment_id)
    refund = await lock_refund(session, refund_id)
    if refund is None or refund.status != "pending":
        return "settled"
    provider = provider_for(providers, payment.channel)
    try:
        result = await provider.refund(
            out_trade_no=payment.out_trade_no,
            out_refund_no=refund.out_refund_no,
            amount_fen=refund.amount_fen,
            total_fen=payment.amount_fen,
        )
    except ProviderDeclined as declined:
        refund.status = "failed"
        refund.failure = declined.reason[:256]
        refund.completed_at = actor.clock.now()
        await session.flush()
        await _audit(session, actor, "billing.refund.failed", refund, order)
        return "failed"
    if result.state != "SUCCESS":
        raise RuntimeError(f"refund {refund.out_refund_no} is still processing")
    refund.status = "succeeded"
    refund.provider_refund_no = result.provider_refund_no or None
    refund.completed_at = actor.clock.now()
    await session.flush()
    await post(
        session,
        actor,
        kind="refund_paid",
        postings=[
            (refunds_payable_account(payment.channel), refund.amount_fen),
            (clearing_account(payment.channel), -refund.amount_fen),
        ],
        order_id=order.id,
        payment_id=payment.id,
        refund_id=refund.id,
    )
    await _audit(session, actor, "billing.refund.succeeded", refund, order)
    return "succeeded"


async def _record_refund(
    session: AsyncSession,
    actor: Actor,
    order: Order,
    payment: Payment,
    *,
    amount_fen: int,
    reason: str,
    key: str,
) -> Refund:
    now = actor.clock.now()
    refund = Refund(
        payment_id=payment.id,
        order_id=order.id,
        amount_fen=amount_fen,
        reason=reason,
        note="",
        status="pending",
        out_refund_no=f"R{now:%y%m%d}{secrets.token_hex(8).upper()}",
        failure="",
        idempotency_key=key,
        requested_by_account_id=actor.account_id,
        created_at=now,
    )
    payment.refunded_fen += amount_fen
    session.add(refund)
    await session.flush()
    await emit(
        session,
        actor,
        topic=EXECUTE_TOPIC,
        payload={"refund_id": refund.id},
        dedupe_key=f"{EXECUTE_TOPIC}:{refund.id}",
    )
    return refund


def _allocate(
    lines: list[OrderLine], amount_fen: int, line_id: int | None
) -> list[tuple[OrderLine, int]]:
    """Take ``amount_fen`` off one line, or off the lines from the last; record it on them."""
    if line_id is not None:
        chosen = [line for line in lines if line.id == line_id]
        if not chosen:
            raise Unprocessable(
                "billing.line_not_found", "This bill has no such line.", field="line_id"
            )
        left = chosen[0].amount_fen - chosen[0].refunded_fen
        if amount_fen > left:
            raise _too_much(left)
        lines = chosen
    taken: list[tuple[OrderLine, int]] = []
    remaining = amount_fen
    for line in reversed(lines):
        amount = min(remaining, line.amount_fen - line.refunded_fen)
        if amount > 0:
            line.refunded_fen += amount
            taken.append((line, amount))
            remaining -= amount
    if remaining:
        raise RuntimeError("refund allocation exceeded the lines; the payment check should hold")
    return taken


def _too_much(left: int) -> Conflict:
    return Conflict(
        "billing.refund_exceeds_payment",
        "At most {left} can still be refunded.",
        field="amount",
        left=format_yuan(left),
        left_fen=left,
    )


async def _audit(
    session: AsyncSession, actor: Actor, action: str, refund: Refund, order: Order
) -> None:
    await record(
        session,
        actor,
        action=action,
        subject_type="billing_refund",
        subject_id=refund.id,
        patient_id=order.patient_id,
        details={
            "order_id": order.id,
            "payment_id": refund.payment_id,
            "amount_fen": refund.amount_fen,
            "reason": refund.reason,
            "status": refund.status,
        },
    )
