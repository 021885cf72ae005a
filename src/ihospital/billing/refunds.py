"""Refunds: never more than was paid, always journalled, paid out by the provider after commit.

A refund is recorded and journalled in the transaction that decides it (revenue or the patient
← refunds payable) with the order and payment rows locked, so concurrent refunds cannot together
exceed the bill (the database also checks ``refunded_fen <= paid_fen``). The provider is called
afterwards by an outbox handler with ``out_refund_no`` as idempotency key; when it pays out,
refunds payable ← clearing. A refund the provider refuses stays owed (``failed``) for the
institution's finance staff to pay by other means.

A bill settled with medical insurance is refunded the way an insurance counter does it: its
settlement is reversed at the platform and what is left of the bill settled again (the year's
totals and the personal account follow). What the fund and the personal account paid for the
refunded part goes back to them (insurance fund ← revenue); only the rest goes back to the payer
through the provider. A platform that does not answer, or refuses, changes nothing here: the
institution tries again.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.insurance.claims import claim_line, is_claimed
from ihospital.billing.insurance.models import Settlement
from ihospital.billing.insurance.platform import InsurancePlatform
from ihospital.billing.insurance.settlement import live_settlement, resettle_claim
from ihospital.billing.ledger import (
    LedgerAccount,
    clearing_account,
    insurance_fund_account,
    patient_account,
    personal_account_fund,
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
from ihospital.directory.access import SYSTEM_ROLE
from ihospital.errors import Conflict, Forbidden, Unprocessable
from ihospital.outbox.service import emit
from ihospital.security.crypto import FieldCipher
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
    platform: InsurancePlatform,
    cipher: FieldCipher,
    line_id: int | None = None,
    note: str = "",
) -> Refund:
    """Refund ``amount_fen`` of a paid bill (institution admins of its institution, platform
    admins, and the system on the institution's behalf, e.g. for a cancelled appointment). With
    ``line_id`` the refund comes off that line, else off the lines from the last; an insured
    bill's settlement is reversed and settled again (module doc). Refused: more than is left to
    refund (of the bill or the line), nothing or a negative amount, a bill that is not paid.
    The same key returns the same refund."""
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
    staff = actor.role in (Role.INSTITUTION_ADMIN, Role.PLATFORM_ADMIN) and may_see(actor, order)
    if not (staff or actor.role == SYSTEM_ROLE):
        if may_see(actor, order):
            raise Forbidden("billing.refund_forbidden", "Only the institution may refund a bill.")
        raise order_not_found(order_id)
    key = f"requested:{actor.account_id}:{idempotency_key}"
    existing = await session.scalar(select(Refund).where(Refund.idempotency_key == key))
    if existing is not None:
        if (existing.order_id, existing.amount_fen + existing.insured_fen, existing.line_id) != (
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
    if order.status not in REFUNDABLE:
        raise Conflict("billing.order_not_refundable", "Only a paid bill can be refunded.")
    payment = await lock_payment(session, order.payment_id) if order.payment_id else None
    left = order.paid_fen - order.refunded_fen
    if amount_fen > left:
        raise _too_much(left)
    lines = await order_lines(session, order.id)
    taken = _allocate(lines, amount_fen, line_id)
    reversed_settlement, insured_postings = await _give_back_insured(
        session, actor, order, lines, taken, platform=platform, cipher=cipher
    )
    insured = -sum(amount for _, amount in insured_postings)
    cash = amount_fen - insured
    if not 0 <= cash <= (payment.amount_fen - payment.refunded_fen if payment else 0):
        raise RuntimeError(f"refund of order {order.id}: cash part {cash} outside the payment")
    refund = await _record_refund(
        session,
        actor,
        order,
        payment,
        amount_fen=cash,
        insured_fen=insured,
        reason="requested",
        key=key,
    )
    refund.line_id = line_id
    refund.note = note.strip()
    refund.settlement_id = reversed_settlement.id if reversed_settlement else None
    order.refunded_fen += amount_fen
    order.status = "refunded" if order.refunded_fen == order.total_fen else "partially_refunded"
    await session.flush()
    await post(
        session,
        actor,
        kind="refund_requested",
        postings=[
            *((revenue_account(line.kind, order.institution_id), amount) for line, amount in taken),
            *insured_postings,
            *([(refunds_payable_account(payment.channel), -cash)] if payment else []),
        ],
        order_id=order.id,
        payment_id=payment.id if payment else None,
        refund_id=refund.id,
        memo=reversed_settlement.settlement_no if reversed_settlement else "",
    )
    await _audit(session, actor, "billing.refund.request", refund, order)
    return refund


async def refund_the_rest(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    idempotency_key: str,
    platform: InsurancePlatform,
    cipher: FieldCipher,
    note: str = "",
) -> Refund | None:
    """Refund what is left of a bill for something cancelled (a registration, a consultation),
    as :func:`request_refund` does, acting as the system for the institution: nothing when the
    bill was never paid or staff refunded it all already, so an outbox handler calling this
    again after its refund committed, or after a refund by hand, ends instead of failing for
    ever. The same key returns the same refund."""
    order = await lock_order(session, order_id)
    left = order.paid_fen - order.refunded_fen
    if order.status not in REFUNDABLE or left <= 0:
        return None
    return await request_refund(
        session,
        actor,
        order_id=order_id,
        amount_fen=left,
        idempotency_key=idempotency_key,
        platform=platform,
        cipher=cipher,
        note=note,
    )


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
    payment: Payment | None,
    *,
    amount_fen: int,
    reason: str,
    key: str,
    insured_fen: int = 0,
) -> Refund:
    """Record a refund of ``amount_fen`` in cash (paid out later by the provider) and
    ``insured_fen`` given back to insurance (done already: a refund without cash is complete)."""
    now = actor.clock.now()
    refund = Refund(
        payment_id=payment.id if payment and amount_fen else None,
        order_id=order.id,
        amount_fen=amount_fen,
        insured_fen=insured_fen,
        reason=reason,
        note="",
        status="pending" if amount_fen else "succeeded",
        out_refund_no=f"R{now:%y%m%d}{secrets.token_hex(8).upper()}",
        failure="",
        idempotency_key=key,
        requested_by_account_id=actor.account_id,
        created_at=now,
        completed_at=None if amount_fen else now,
    )
    session.add(refund)
    await session.flush()
    if payment is None or not amount_fen:
        return refund
    payment.refunded_fen += amount_fen
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


async def _give_back_insured(
    session: AsyncSession,
    actor: Actor,
    order: Order,
    lines: list[OrderLine],
    taken: list[tuple[OrderLine, int]],
    *,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> tuple[Settlement | None, list[tuple[LedgerAccount, int]]]:
    """When the refund takes from a line the order's live settlement claimed: reverse it,
    settle what is left of the claimed lines again, and answer the reversed settlement with the
    postings that give its difference back to the fund and the personal accounts (negative).
    The order's insured part becomes the new settlement's."""
    if not any(is_claimed(line) for line, _ in taken):
        return None, []
    if await live_settlement(session, order.id) is None:
        return None, []
    left = [
        claim_line(line)
        for line in lines
        if is_claimed(line) and line.refunded_fen < line.amount_fen
    ]
    old, new = await resettle_claim(
        session, actor, order_id=order.id, lines=left, platform=platform, cipher=cipher
    )
    if new is not None and new.status == "rejected":
        raise Conflict(
            "billing.insured_refund_rejected",
            "The insurance platform refused to settle the rest of this bill again, so it cannot "
            "be refunded now: {reason}",
            reason=new.rejection_reason,
        )
    fund = old.hifp_pay - (new.hifp_pay if new else 0)
    account = old.acct_pay - (new.acct_pay if new else 0)
    order.insured_fen = new.fund_pay_sumamt + new.acct_pay if new else 0
    region = old.policy_region_code
    if region is None:  # paid as self-pay: nothing came from insurance
        return old, []
    return old, [(insurance_fund_account(region), -fund), (personal_account_fund(region), -account)]


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
