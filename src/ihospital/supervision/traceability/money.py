"""The billing part of a case: the bill (order), each payment and each refund, read through
billing's repository."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.models import Order
from ihospital.billing.repository import order_payments, order_refunds
from ihospital.supervision.traceability.kinds import RECORD, CaseEvent, CaseSubject


async def add_bill(session: AsyncSession, case: CaseSubject, order_id: int | None) -> None:
    """Add the events of bill ``order_id`` (none when there is no bill, e.g. a free
    consultation) and its subjects in the audit trail."""
    if order_id is None:
        return
    order = await session.get(Order, order_id)
    if order is None:
        return
    subject = f"billing_order:{order.id}"
    case.audit_subjects.setdefault("billing_order", set()).add(order.id)
    case.events.append(
        CaseEvent(
            order.created_at,
            RECORD,
            "billing.order_created",
            subject,
            actor_account_id=order.created_by_account_id,
            details={"number": order.number, "total_fen": order.total_fen, "status": order.status},
        )
    )
    for payment in await order_payments(session, order.id):
        case.audit_subjects.setdefault("billing_payment", set()).add(payment.id)
        if payment.succeeded_at is not None:
            case.events.append(
                CaseEvent(
                    payment.succeeded_at,
                    RECORD,
                    "billing.payment_succeeded",
                    f"billing_payment:{payment.id}",
                    actor_account_id=payment.account_id,
                    details={
                        "channel": payment.channel,
                        "amount_fen": payment.amount_fen,
                        "out_trade_no": payment.out_trade_no,
                    },
                )
            )
    for refund in await order_refunds(session, order.id):
        case.audit_subjects.setdefault("billing_refund", set()).add(refund.id)
        case.events.append(
            CaseEvent(
                refund.completed_at or refund.created_at,
                RECORD,
                f"billing.refund_{refund.status}",
                f"billing_refund:{refund.id}",
                actor_account_id=refund.requested_by_account_id,
                details={
                    "amount_fen": refund.amount_fen,
                    "reason": refund.reason,
                    "out_refund_no": refund.out_refund_no,
                },
            )
        )
