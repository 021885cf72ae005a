"""Delivering pharmacy orders with a carrier (issue 6, items 5–6).

A pharmacist ships a dispensed delivery order: the carrier the settings choose is booked (the
cold-chain one when a drug needs 2–8 °C; the order refuses any other for such drugs) and the
order keeps the shipment. A carrier that does not answer in time is a 503 and the order stays
dispensed, to be shipped again later (the booking is idempotent by the shipment's reference).

The shipment's events then move the order (:func:`follow_shipment`, a subscriber of
``pharmacy.shipment_status_changed``): delivered makes the order delivered through
:func:`~ihospital.pharmacy.service.deliver_order`; a failed delivery waits for the pharmacist,
who ships it again under a new shipment or refunds it; a parcel returned after a rejected
cold-chain excursion cancels the order and refunds it. A failed delivery and an excursion ask
the pharmacists for their decision (:mod:`ihospital.pharmacy.decisions`). The handler reads the
shipment as it is now, so duplicated, late and out-of-order events change nothing more (R13:
every change is audited and published by the transitions it makes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import Conflict
from ihospital.pharmacy.carriers import Carriers
from ihospital.pharmacy.carriers.base import Address, Parcel
from ihospital.pharmacy.decisions import ask_for_decision
from ihospital.pharmacy.models import Pharmacy, PharmacyOrder
from ihospital.pharmacy.service import deliver_order, staffed_order
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.pharmacy.shipment_tracking import decide_excursion
from ihospital.pharmacy.shipments import ShipmentView, create_shipment, tracking_of
from ihospital.pharmacy.states import order_items, refund_later, transition, wrong_state

GRAMS_PER_PACKAGE = 150
RESHIPPABLE = ("failed",)


@dataclass(frozen=True)
class Delivering:
    """A delivery order with its current shipment (None before it is shipped)."""

    order: PharmacyOrder
    shipment: Shipment | None

    @property
    def failed(self) -> bool:
        return self.order.status == "shipped" and self.shipment_status in RESHIPPABLE

    @property
    def shipment_status(self) -> str | None:
        return self.shipment.status if self.shipment is not None else None


async def current_shipment(session: AsyncSession, order: PharmacyOrder) -> Shipment | None:
    if order.shipment_id is None:
        return None
    return await session.get(Shipment, order.shipment_id, populate_existing=True)


async def tracking(session: AsyncSession, order: PharmacyOrder) -> ShipmentView | None:
    """The scans and temperature readings of the order's current shipment, for its order page
    (the caller has read the order, which audits the read)."""
    shipment = await current_shipment(session, order)
    return None if shipment is None else await tracking_of(session, shipment)


async def ship_order(
    session: AsyncSession, actor: Actor, *, order_id: int, carriers: Carriers
) -> PharmacyOrder:
    """Book the carrier for a dispensed delivery order, or again after a failed delivery; the
    order keeps the shipment and its tracking number."""
    order = await staffed_order(session, actor, order_id)
    delivering = Delivering(order, await current_shipment(session, order))
    if order.fulfilment != "delivery" or not (order.status == "dispensed" or delivering.failed):
        raise wrong_state(order)
    carrier = carriers.for_shipment(cold_chain=order.cold_chain)
    if order.cold_chain and not carrier.cold_chain:
        raise Conflict(
            "pharmacy.carrier_not_cold_chain",
            "The carrier {carrier} keeps no cold chain; this order's drugs must travel at 2–8 °C.",
            carrier=carrier.name,
        )
    pharmacy = await session.get(Pharmacy, order.pharmacy_id)
    assert pharmacy is not None  # a foreign key
    packages = sum(item.quantity for item in await order_items(session, order.id))
    previous = delivering.shipment
    shipment = await create_shipment(
        session,
        actor,
        institution_id=order.institution_id,
        order_reference=order.number if previous is None else f"{order.number}-{previous.id}",
        sender=Address(pharmacy.name, pharmacy.phone, "", "", "", pharmacy.address),
        recipient=Address(
            order.recipient_name or "",
            order.recipient_phone or "",
            "",
            "",
            "",
            order.delivery_address or "",
        ),
        cold_chain=order.cold_chain,
        parcels=(Parcel(order.number, packages * GRAMS_PER_PACKAGE, "药品"),),
        carriers=carriers,
    )
    order.shipment_id, order.tracking_number = shipment.id, shipment.carrier_shipment_id
    details = {"shipment_id": shipment.id, "carrier": shipment.carrier}
    if previous is None:
        order.shipped_at = actor.clock.now()
        await transition(session, actor, order, "shipped", **details)
    else:
        await session.flush()
        await record(
            session,
            actor,
            action="pharmacy.order.reshipped",
            subject_type="pharmacy_order",
            subject_id=order.id,
            patient_id=order.patient_id,
            details=details,
        )
    return order


async def refund_failed(session: AsyncSession, actor: Actor, *, order_id: int) -> PharmacyOrder:
    """The pharmacist gives up a failed delivery: the order is cancelled and refunded."""
    order = await staffed_order(session, actor, order_id)
    if not Delivering(order, await current_shipment(session, order)).failed:
        raise wrong_state(order)
    await _cancel_shipped(session, actor, order, reason="delivery_failed")
    return order


async def _cancel_shipped(
    session: AsyncSession, actor: Actor, order: PharmacyOrder, *, reason: str
) -> None:
    """A shipped order that will not arrive: cancelled and refunded (its drugs were dispensed,
    so no stock is given back; what comes back is counted by the pharmacy)."""
    order.cancelled_at, order.cancel_reason = actor.clock.now(), reason
    await transition(session, actor, order, "cancelled", reason=reason)
    await refund_later(session, actor, order)


async def decide_order_excursion(
    session: AsyncSession, actor: Actor, *, order_id: int, accept: bool, note: str
) -> PharmacyOrder:
    """The pharmacist decides on the cold-chain excursion of the order's shipment: accepted,
    the delivery may complete; rejected, the parcel is returned and the order refunded."""
    order = await staffed_order(session, actor, order_id)
    if order.status != "shipped" or order.shipment_id is None:
        raise wrong_state(order)
    await decide_excursion(session, actor, shipment_id=order.shipment_id, accept=accept, note=note)
    return order


async def follow_shipment(session: AsyncSession, actor: Actor, payload: dict[str, Any]) -> None:
    """A shipment's status changed: move its order as the shipment stands now. Idempotent; an
    event of a shipment the order no longer uses, or of an order already settled, is ignored."""
    order = await session.scalar(
        select(PharmacyOrder)
        .where(PharmacyOrder.shipment_id == payload["shipment_id"])
        .with_for_update()
    )
    if order is None or order.status != "shipped":
        return
    shipment = await current_shipment(session, order)
    assert shipment is not None  # the order was found by it
    if shipment.status == "delivered":
        await deliver_order(session, actor, order_id=order.id)
    elif shipment.status == "returned":
        await _cancel_shipped(session, actor, order, reason="returned")
    elif shipment.status == "failed":
        await ask_for_decision(session, actor, order, shipment, "failed")
    elif shipment.status == "temperature_excursion" and payload["status"] == shipment.status:
        # each excursion is announced with the reading that caused it
        await ask_for_decision(
            session, actor, order, shipment, f"excursion:{payload.get('reading_id')}"
        )
