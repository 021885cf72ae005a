"""Checkout with medical insurance: the patient pays online only their own share.

Before paying, the payer chooses whether to use the 就诊人's coverage and its personal account
(个人账户); :func:`preview_checkout` shows how the bill splits, per line and in total, with the
part names of the national settlement interface. :func:`confirm_checkout` settles the claim with
the insurance platform (``settle_claim``) and starts a payment for the cash part
(``psn_cash_pay``) only; when insurance pays everything the bill is paid at once, without a
payment provider.

Lines that are never claimed are paid in cash outside the claim: drugs of class 丙类 and drugs
without a class (not in the insurance catalogue). A first-visit consultation is refused with
insurance (only online follow-up visits are covered, R01): the payer checks out without it.

The platform's refusal is a 422 and changes nothing; when it does not answer in time the
settlement stays pending (its amounts held, the platform may have settled it) and the payer is
told to try again: confirming again completes it by asking the platform.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.insurance.claims import claim_line, is_claimed
from ihospital.billing.insurance.engine import (
    SELF_PAY,
    Parts,
    YearToDate,
    split_claim,
    sum_parts,
)
from ihospital.billing.insurance.platform import InsurancePlatform
from ihospital.billing.insurance.policy import PolicyTable
from ihospital.billing.insurance.settlement import (
    live_settlement,
    parts_of,
    preview_claim,
    settle_claim,
    settlement_lines,
)
from ihospital.billing.models import Order, OrderLine, Payment
from ihospital.billing.orders import audit_order, not_payable, order_expired
from ihospital.billing.payments import charge_order, start_payment
from ihospital.billing.providers import Providers
from ihospital.billing.repository import lock_order, order_lines, order_not_found
from ihospital.core.context import Actor
from ihospital.errors import ServiceUnavailable, Unprocessable
from ihospital.security.crypto import FieldCipher


@dataclass(frozen=True)
class Choice:
    """What the payer chose: use the coverage, its personal account, and pay everything as
    self-pay when the coverage's region has no policy (``self_pay_agreed``)."""

    use_insurance: bool
    use_personal_account: bool = False
    self_pay_agreed: bool = False


@dataclass(frozen=True)
class Preview:
    """A bill's split: the parts of each line (in the order of the lines) and in total.
    ``settlement_status`` is the status of the bill's live settlement (``pending``, ``settled``
    or ``self_pay``) when it has one: the split is then that settlement's and the choice no
    longer applies."""

    order: Order
    lines: list[tuple[OrderLine, Parts]]
    total: Parts
    settlement_status: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What confirming did: the bill paid by insurance alone (no payment), or the payment of
    the cash part to make."""

    order: Order
    payment: Payment | None


async def preview_checkout(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    choice: Choice,
    policies: PolicyTable | None = None,
) -> Preview:
    """How one of the actor's unpaid bills splits under ``choice`` (nothing changes; audited).
    Once settled, the settlement's own split is shown."""
    order, lines = await _payable(session, actor, order_id)
    claimed = [line for line in lines if is_claimed(line)]
    settled = await live_settlement(session, order.id)
    parts: dict[int, Parts] = {}
    if settled is not None:
        rows = await settlement_lines(session, settled)
        parts.update((row.order_line_id, parts_of(row)) for row in rows if row.order_line_id)
    elif choice.use_insurance and claimed:
        quote = await preview_claim(
            session,
            actor,
            patient_id=order.patient_id,
            institution_id=order.institution_id,
            lines=[claim_line(line) for line in claimed],
            use_personal_account=choice.use_personal_account,
            self_pay_agreed=choice.self_pay_agreed,
            policies=policies,
        )
        parts.update(zip((line.id for line in claimed), quote.split.lines, strict=True))
    cash = [line for line in lines if line.id not in parts]
    if cash:
        parts.update(zip((line.id for line in cash), _self_paid(cash), strict=True))
    shown = [(line, parts[line.id]) for line in lines]
    await audit_order(session, actor, "billing.checkout.preview", order, **vars(choice))
    return Preview(
        order=order,
        lines=shown,
        total=sum_parts([part for _, part in shown]),
        settlement_status=settled.status if settled else None,
    )


async def confirm_checkout(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    choice: Choice,
    channel: str,
    idempotency_key: str,
    providers: Providers,
    platform: InsurancePlatform,
    cipher: FieldCipher,
    policies: PolicyTable | None = None,
) -> Outcome:
    """Settle one of the actor's unpaid bills with insurance as chosen, then pay the rest
    (module doc). Raises :class:`SettlementPending` when the platform did not answer: the
    caller commits (the pending settlement must be kept) and answers 503."""
    order, lines = await _payable(session, actor, order_id)
    claimed = [line for line in lines if is_claimed(line)]
    settled = await live_settlement(session, order.id)
    if (choice.use_insurance and claimed) or settled is not None:
        settlement = await settle_claim(
            session,
            actor,
            order_id=order.id,
            patient_id=order.patient_id,
            institution_id=order.institution_id,
            lines=[claim_line(line) for line in claimed],
            use_personal_account=choice.use_personal_account,
            self_pay_agreed=choice.self_pay_agreed,
            platform=platform,
            cipher=cipher,
            policies=policies,
        )
        if settlement.status == "rejected":
            raise Unprocessable(
                "billing.insurance_rejected",
                "The insurance platform refused the settlement.",
                reason=settlement.rejection_reason,
            )
        if settlement.status == "pending":
            raise SettlementPending()
        order.insured_fen = settlement.fund_pay_sumamt + settlement.acct_pay
        await session.flush()
    await audit_order(
        session, actor, "billing.checkout.confirm", order, insured_fen=order.insured_fen
    )
    if order.insured_fen == order.total_fen:
        await charge_order(session, actor, order, payment=None, paid_at=actor.clock.now())
        return Outcome(order=order, payment=None)
    payment = await start_payment(
        session,
        actor,
        order_id=order.id,
        channel=channel,
        idempotency_key=idempotency_key,
        providers=providers,
    )
    return Outcome(order=order, payment=payment)


class SettlementPending(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "billing.insurance_pending",
            "The insurance platform did not answer in time. Your settlement is kept; try again "
            "in a moment to complete it.",
        )


async def _payable(
    session: AsyncSession, actor: Actor, order_id: int
) -> tuple[Order, list[OrderLine]]:
    order = await lock_order(session, order_id)
    if order.account_id != actor.account_id:
        raise order_not_found(order_id)
    if order.status != "pending":
        raise not_payable(order)
    if actor.clock.now() >= order.expires_at:
        raise order_expired()
    return order, await order_lines(session, order.id)


def _self_paid(lines: list[OrderLine]) -> tuple[Parts, ...]:
    """The split of lines paid entirely in cash."""
    return split_claim(
        SELF_PAY,
        year_to_date=YearToDate(),
        account_balance_fen=0,
        use_account=False,
        lines=[claim_line(line) for line in lines],
    ).lines
