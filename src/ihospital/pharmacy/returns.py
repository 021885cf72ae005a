"""Parcels that come back to the pharmacy (退回药品) and what becomes of their drugs.

A dispensed delivery order whose parcel will not reach the patient comes back to the pharmacy
that dispensed it: a failed delivery the pharmacist cancelled and refunded
(:func:`~ihospital.pharmacy.delivery.refund_failed`; the carrier brings the parcel back), or a
parcel rejected after a cold-chain excursion (the shipment is ``returned``). The drugs left the
stock when they were dispensed. A pharmacist of the institution records that the parcel arrived
(:func:`receive_return`, idempotent), then decides once (:func:`decide_return`): restock, the
packages go back on hand at that pharmacy (:func:`~ihospital.pharmacy.stock.put_back`), never for
a cold-chain order whose parcel was rejected or had a temperature outside 2–8 °C; or destroy
(报损) with a written reason. Every step and every read is audited (R13); a second decision is
refused (409).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import Conflict, Unprocessable
from ihospital.pharmacy.models import ENDED, RETURN_DECISIONS, OrderReturn, PharmacyOrder
from ihospital.pharmacy.service import PAGE_SIZE, staffed_order
from ihospital.pharmacy.shipment_models import Shipment, TemperatureReadingRecord
from ihospital.pharmacy.states import order_items
from ihospital.pharmacy.stock import put_back

RETURNED_REASONS = ("delivery_failed", "returned")  # cancel reasons of a parcel sent back
MAX_REASON = 500
DECIDED_MESSAGES = {
    "restock": (
        "The returned parcel of order {number} was already put back into stock; it cannot be "
        "decided again."
    ),
    "destroy": (
        "The returned parcel of order {number} was already destroyed; it cannot be decided again."
    ),
}


@dataclass(frozen=True)
class ReturnView:
    """An order whose parcel comes back, with its return once received."""

    order: PharmacyOrder
    received: OrderReturn | None


def comes_back(order: PharmacyOrder) -> bool:
    """Whether the order's dispensed drugs are sent back to the pharmacy."""
    return (
        order.fulfilment == "delivery"
        and order.dispensed_at is not None
        and order.status in ENDED
        and order.cancel_reason in RETURNED_REASONS
    )


async def return_of(session: AsyncSession, order_id: int) -> OrderReturn | None:
    """The recorded return of an order the caller has read (None before the parcel came)."""
    return await session.scalar(select(OrderReturn).where(OrderReturn.order_id == order_id))


async def _audit(
    session: AsyncSession, actor: Actor, order: PharmacyOrder, action: str, **details: object
) -> None:
    await record(
        session,
        actor,
        action=f"pharmacy.order.{action}",
        subject_type="pharmacy_order",
        subject_id=order.id,
        patient_id=order.patient_id,
        details=details,
    )


async def receive_return(session: AsyncSession, actor: Actor, *, order_id: int) -> ReturnView:
    """Record that the parcel of a refunded or rejected delivery came back to the pharmacy;
    recorded already, the first record is returned unchanged."""
    order = await staffed_order(session, actor, order_id)
    received = await return_of(session, order.id)
    if received is not None:
        return ReturnView(order, received)
    if not comes_back(order):
        raise Conflict(
            "pharmacy.return_not_expected",
            "No parcel of order {number} is coming back: only a dispensed delivery that was "
            "refunded after a failed delivery or rejected after a temperature excursion returns "
            "to the pharmacy.",
            number=order.number,
        )
    received = OrderReturn(
        order_id=order.id,
        pharmacy_id=order.pharmacy_id,
        received_at=actor.clock.now(),
        received_by_account_id=actor.account_id,
    )
    session.add(received)
    await session.flush()
    await _audit(session, actor, order, "return_received", cancel_reason=order.cancel_reason)
    return ReturnView(order, received)


async def decide_return(
    session: AsyncSession, actor: Actor, *, order_id: int, decision: str, reason: str
) -> ReturnView:
    """Put a received parcel's drugs back into the pharmacy's stock (``restock``) or destroy
    them (``destroy``, with ``reason``), once; a cold-chain parcel that left 2–8 °C or was
    rejected is never restocked."""
    reason = reason.strip()
    if decision not in RETURN_DECISIONS:
        raise Unprocessable(
            "pharmacy.return_decision_invalid", "Choose restock or destroy.", field="decision"
        )
    if len(reason) > MAX_REASON or (decision == "destroy" and not reason):
        raise Unprocessable(
            "pharmacy.return_reason_invalid",
            "Enter why the drugs are destroyed, in at most {limit} characters.",
            field="reason",
            limit=MAX_REASON,
        )
    order = await staffed_order(session, actor, order_id)  # locked: one decision at a time
    received = await return_of(session, order.id)
    if received is None:
        raise Conflict(
            "pharmacy.return_not_received",
            "Record that the parcel of order {number} came back before deciding what becomes "
            "of its drugs.",
            number=order.number,
        )
    if received.decision is not None:
        raise Conflict(
            "pharmacy.return_decided",
            DECIDED_MESSAGES[received.decision],
            number=order.number,
            decision=received.decision,
        )
    if decision == "restock":
        if await _left_cold_chain(session, order):
            raise Conflict(
                "pharmacy.return_not_restockable",
                "The drugs of order {number} left the cold chain (a temperature outside 2–8 °C, "
                "or the parcel was rejected); they cannot go back into stock.",
                number=order.number,
            )
        items = await order_items(session, order.id)
        await put_back(
            session,
            actor,
            pharmacy_id=order.pharmacy_id,
            quantities={item.drug_id: item.quantity for item in items},
            order_id=order.id,
        )
    received.decision, received.reason = decision, reason or None
    received.decided_at, received.decided_by_account_id = actor.clock.now(), actor.account_id
    await session.flush()
    action = "return_restocked" if decision == "restock" else "return_destroyed"
    await _audit(session, actor, order, action, reason=reason)
    return ReturnView(order, received)


async def _left_cold_chain(session: AsyncSession, order: PharmacyOrder) -> bool:
    """Whether a cold-chain order's parcel, under any of its shipments, had a reading outside
    2–8 °C or an excursion."""
    if not order.cold_chain:
        return False
    breached = await session.scalar(
        select(Shipment.id)
        .where(
            or_(
                Shipment.order_reference == order.number,
                Shipment.order_reference.like(f"{order.number}-%"),
            ),
            or_(
                Shipment.excursion != "none",
                Shipment.id.in_(
                    select(TemperatureReadingRecord.shipment_id).where(
                        TemperatureReadingRecord.within_range.is_(False)
                    )
                ),
            ),
        )
        .limit(1)
    )
    return breached is not None


async def returns_to_handle(session: AsyncSession, actor: Actor) -> list[ReturnView]:
    """The institution's orders whose parcel comes back and awaits its receipt or a decision,
    oldest first, with the return once received (audited)."""
    rows = (
        await session.execute(
            select(PharmacyOrder, OrderReturn)
            .outerjoin(OrderReturn, OrderReturn.order_id == PharmacyOrder.id)
            .where(
                PharmacyOrder.institution_id == actor.institution_id,
                PharmacyOrder.fulfilment == "delivery",
                PharmacyOrder.dispensed_at.is_not(None),
                PharmacyOrder.status.in_(ENDED),
                PharmacyOrder.cancel_reason.in_(RETURNED_REASONS),
                OrderReturn.decision.is_(None),
            )
            .order_by(PharmacyOrder.cancelled_at, PharmacyOrder.id)
            .limit(PAGE_SIZE)
        )
    ).all()
    for order, _ in rows:
        await _audit(session, actor, order, "read")
    return [ReturnView(order, received) for order, received in rows]
