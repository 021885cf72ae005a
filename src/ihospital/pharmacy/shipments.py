"""Shipping pharmacy orders: booking a carrier, cancelling, reading a shipment with its tracking
and pulling the tracking when callbacks are missing.

The pharmacy order service calls :func:`create_shipment` when an order is dispatched and
:func:`cancel_shipment` when it is cancelled, and subscribes to
:data:`~ihospital.pharmacy.shipment_events.SHIPMENT_STATUS_CHANGED` to follow the parcel. The
order keeps the addresses; here a shipment knows the order only by its reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.sandbox_delivery import schedule_deliveries
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, ServiceUnavailable
from ihospital.pharmacy.carriers import Carriers
from ihospital.pharmacy.carriers.base import Address, CarrierDeclined, CarrierTimeout, Parcel
from ihospital.pharmacy.shipment_access import may_ship_for, shipment_for
from ihospital.pharmacy.shipment_events import announce, settle_status
from ihospital.pharmacy.shipment_models import (
    Shipment,
    TemperatureReadingRecord,
    TrackingEventRecord,
)
from ihospital.pharmacy.shipment_tracking import CALLBACK_TOPIC, apply_update

CANCELLABLE = ("created", "accepted", "in_transit")


@dataclass(frozen=True)
class ShipmentView:
    shipment: Shipment
    events: list[TrackingEventRecord]
    readings: list[TemperatureReadingRecord]


def _unavailable(carrier: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        "pharmacy.carrier_timeout",
        "The carrier {carrier} did not answer in time. Please try again.",
        carrier=carrier,
    )


async def create_shipment(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    order_reference: str,
    sender: Address,
    recipient: Address,
    cold_chain: bool,
    parcels: tuple[Parcel, ...],
    carriers: Carriers,
) -> Shipment:
    """Book the carrier the settings choose (the cold-chain one when a drug needs 2–8 °C) for
    the order ``order_reference`` and record the shipment (R13). Idempotent by the reference:
    calling again, after a timeout say, returns the same shipment."""
    if not may_ship_for(actor, institution_id):
        raise NotFound(
            "pharmacy.institution_not_found",
            "Institution {institution_id} was not found.",
            institution_id=institution_id,
        )
    existing = await _by_reference(session, order_reference)
    if existing is not None:
        return _same_order(existing, institution_id, order_reference)
    carrier = carriers.for_shipment(cold_chain=cold_chain)
    try:
        booked = await carrier.create_shipment(
            order_reference=order_reference,
            sender=sender,
            recipient=recipient,
            cold_chain=cold_chain,
            parcels=parcels,
        )
    except CarrierTimeout:
        raise _unavailable(carrier.name) from None
    except CarrierDeclined as declined:
        raise Conflict(
            "pharmacy.carrier_declined",
            "The carrier {carrier} declined the shipment ({reason}).",
            carrier=carrier.name,
            reason=declined.reason,
        ) from None
    now = actor.clock.now()
    shipment = Shipment(
        carrier=carrier.name,
        carrier_shipment_id=booked.carrier_shipment_id,
        order_reference=order_reference,
        institution_id=institution_id,
        cold_chain=cold_chain,
        status="created",
        carrier_status="created",
        excursion="none",
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(shipment)
    except IntegrityError:  # the same order shipped at the same moment: one shipment
        existing = await _by_reference(session, order_reference)
        if existing is None:
            raise
        return _same_order(existing, institution_id, order_reference)
    await announce(session, actor, shipment, previous=None, parcels=len(parcels))
    await schedule_deliveries(
        session,
        actor,
        deliveries=booked.callbacks,
        topic=CALLBACK_TOPIC,
        payload={"carrier": carrier.name},
    )
    return shipment


async def _by_reference(session: AsyncSession, order_reference: str) -> Shipment | None:
    return await session.scalar(select(Shipment).where(Shipment.order_reference == order_reference))


def _same_order(shipment: Shipment, institution_id: int, order_reference: str) -> Shipment:
    if shipment.institution_id != institution_id:
        raise Conflict(
            "pharmacy.order_reference_taken",
            "The order {order_reference} is already shipped by another institution.",
            order_reference=order_reference,
        )
    return shipment


async def cancel_shipment(
    session: AsyncSession, actor: Actor, *, shipment_id: int, carriers: Carriers
) -> Shipment:
    """Cancel a shipment not yet out for delivery, at the carrier and here."""
    shipment = await shipment_for(session, actor, shipment_id, lock=True)
    if shipment.status == "cancelled":
        return shipment
    if shipment.status not in CANCELLABLE:
        raise _too_late(shipment)
    try:
        await carriers.named(shipment.carrier).cancel_shipment(
            carrier_shipment_id=shipment.carrier_shipment_id
        )
    except CarrierTimeout:
        raise _unavailable(shipment.carrier) from None
    except CarrierDeclined:
        raise _too_late(shipment) from None
    shipment.cancelled_at = actor.clock.now()
    await settle_status(session, actor, shipment)
    return shipment


def _too_late(shipment: Shipment) -> Conflict:
    return Conflict(
        "pharmacy.shipment_not_cancellable",
        "Shipment {shipment_id} is {status} and can no longer be cancelled.",
        shipment_id=shipment.id,
        status=shipment.status,
    )


async def get_shipment(session: AsyncSession, actor: Actor, *, shipment_id: int) -> ShipmentView:
    """A shipment with its scans and readings, oldest first, for a pharmacist of its
    institution; the read is audited (R13)."""
    shipment = await shipment_for(session, actor, shipment_id)
    await record(
        session,
        actor,
        action="pharmacy.shipment.read",
        subject_type="shipment",
        subject_id=shipment.id,
    )
    return await tracking_of(session, shipment)


async def tracking_of(session: AsyncSession, shipment: Shipment) -> ShipmentView:
    """``shipment`` with its scans and readings, oldest first (the caller checks who may see
    it, and audits the read)."""
    events = await session.scalars(
        select(TrackingEventRecord)
        .where(TrackingEventRecord.shipment_id == shipment.id)
        .order_by(TrackingEventRecord.occurred_at, TrackingEventRecord.id)
    )
    readings = await session.scalars(
        select(TemperatureReadingRecord)
        .where(TemperatureReadingRecord.shipment_id == shipment.id)
        .order_by(TemperatureReadingRecord.measured_at, TemperatureReadingRecord.id)
    )
    return ShipmentView(shipment, list(events.all()), list(readings.all()))


async def refresh_tracking(
    session: AsyncSession, actor: Actor, *, shipment_id: int, carriers: Carriers
) -> str:
    """Pull the shipment's tracking from the carrier and apply what we missed (路由查询): the
    fallback when callbacks are lost. Answers the outcome, as a callback does."""
    shipment = await shipment_for(session, actor, shipment_id, lock=True)
    try:
        update = await carriers.named(shipment.carrier).tracking(
            carrier_shipment_id=shipment.carrier_shipment_id
        )
    except CarrierTimeout:
        raise _unavailable(shipment.carrier) from None
    return await apply_update(session, actor, shipment, update)
