"""Tracking of shipments: the carriers' signed callbacks (路由推送), the scans and cold-chain
readings they carry, and the pharmacist's decision on a temperature excursion.

A callback is verified before anything else; one that fails, or names a shipment we do not
know, is refused (400) and changes nothing: the carrier sends it again later. Scans and
readings are stored once by the carrier's id, so a callback delivered twice is harmless. A
shipment's progress never goes back: a scan that arrives after a later one (late, or out of
order) is stored but not applied. A reading outside 2–8 °C marks the shipment
``temperature_excursion``: it cannot become delivered until a pharmacist of its institution
accepts the parcel (then the carrier's progress shows again) or rejects it (``returned``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import BadRequest, Conflict
from ihospital.pharmacy.carriers import Carriers
from ihospital.pharmacy.carriers.base import (
    InvalidCallback,
    TemperatureReading,
    TrackingEvent,
    TrackingUpdate,
)
from ihospital.pharmacy.shipment_access import shipment_for
from ihospital.pharmacy.shipment_events import publish_excursion, settle_status
from ihospital.pharmacy.shipment_models import (
    Shipment,
    TemperatureReadingRecord,
    TrackingEventRecord,
)

log = logging.getLogger(__name__)

CALLBACK_TOPIC = "pharmacy.carrier_callback"
LOWEST_CELSIUS, HIGHEST_CELSIUS = Decimal(2), Decimal(8)
PROGRESS = {
    "created": 0,
    "accepted": 1,
    "in_transit": 2,
    "out_for_delivery": 3,
    "delivered": 4,
    "failed": 4,
}
REFUSAL_MESSAGES: dict[str, str] = {
    "unsigned": "The callback is not signed.",
    "bad_signature": "The callback's signature is not valid.",
    "stale": "The callback is too old or from the future; it may be a replay.",
    "malformed": "The callback cannot be read.",
    "unknown_shipment": "The callback is about a shipment we do not know.",
}


class CallbackRefused(BadRequest):
    """A carrier callback we do not accept."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"pharmacy.callback_{reason}", REFUSAL_MESSAGES[reason], reason=reason)


async def receive_callback(
    session: AsyncSession,
    actor: Actor,
    *,
    carrier: str,
    headers: Mapping[str, str],
    body: bytes,
    carriers: Carriers,
) -> str:
    """Verify and apply one tracking callback; answers ``applied`` or ``duplicate``, or raises
    :class:`CallbackRefused` having written nothing."""
    sender = carriers.named(carrier)
    try:
        update = sender.verify_callback(headers=headers, body=body, now=actor.clock.now())
    except InvalidCallback as invalid:
        raise _refused(carrier, invalid.reason, "") from None
    shipment = await session.scalar(
        select(Shipment)
        .where(
            Shipment.carrier == carrier,
            Shipment.carrier_shipment_id == update.carrier_shipment_id,
        )
        .with_for_update()
    )
    if shipment is None:
        raise _refused(carrier, "unknown_shipment", update.carrier_shipment_id)
    return await apply_update(session, actor, shipment, update)


def _refused(carrier: str, reason: str, carrier_shipment_id: str) -> CallbackRefused:
    log.warning(
        "refused a %s tracking callback: %s (shipment %r)", carrier, reason, carrier_shipment_id
    )
    return CallbackRefused(reason)


async def apply_update(
    session: AsyncSession, actor: Actor, shipment: Shipment, update: TrackingUpdate
) -> str:
    """Store the update's new scans and readings in the order they happened, moving the
    shipment forward (R13: each change audited and published). ``duplicate`` when all of it
    was stored before."""
    items = sorted(
        [*update.events, *update.readings],
        key=lambda item: item.occurred_at if isinstance(item, TrackingEvent) else item.measured_at,
    )
    stored = 0
    for item in items:
        if isinstance(item, TrackingEvent):
            stored += await _store_event(session, actor, shipment, item)
        else:
            stored += await _store_reading(session, actor, shipment, item)
    return "applied" if stored else "duplicate"


async def _stored(
    session: AsyncSession,
    model: type[TrackingEventRecord] | type[TemperatureReadingRecord],
    carrier: str,
    carrier_id: str,
) -> bool:
    """Whether the carrier's scan or reading ``carrier_id`` is stored already (a repeat)."""
    column = (
        TrackingEventRecord.carrier_event_id
        if model is TrackingEventRecord
        else TemperatureReadingRecord.carrier_reading_id
    )
    found = await session.scalar(
        select(model.id).where(model.carrier == carrier, column == carrier_id)
    )
    return found is not None


def _ended(shipment: Shipment) -> bool:
    return shipment.cancelled_at is not None or shipment.excursion == "rejected"


async def _store_event(
    session: AsyncSession, actor: Actor, shipment: Shipment, event: TrackingEvent
) -> bool:
    if await _stored(session, TrackingEventRecord, shipment.carrier, event.event_id):
        return False
    applies = not _ended(shipment) and (PROGRESS[event.status] > PROGRESS[shipment.carrier_status])
    session.add(
        TrackingEventRecord(
            shipment_id=shipment.id,
            carrier=shipment.carrier,
            carrier_event_id=event.event_id,
            status=event.status,
            location=event.location[:128],
            occurred_at=event.occurred_at,
            received_at=actor.clock.now(),
            applied=applies,
        )
    )
    if applies:
        shipment.carrier_status = event.status
        await settle_status(session, actor, shipment, carrier_event_id=event.event_id)
    await session.flush()
    return True


async def _store_reading(
    session: AsyncSession, actor: Actor, shipment: Shipment, reading: TemperatureReading
) -> bool:
    if await _stored(session, TemperatureReadingRecord, shipment.carrier, reading.reading_id):
        return False
    row = TemperatureReadingRecord(
        shipment_id=shipment.id,
        carrier=shipment.carrier,
        carrier_reading_id=reading.reading_id,
        celsius=reading.celsius,
        measured_at=reading.measured_at,
        received_at=actor.clock.now(),
        within_range=LOWEST_CELSIUS <= reading.celsius <= HIGHEST_CELSIUS,
    )
    session.add(row)
    await session.flush()
    if not row.within_range and shipment.excursion != "pending" and not _ended(shipment):
        shipment.excursion = "pending"
        await settle_status(session, actor, shipment, reading_id=row.id)
        await publish_excursion(session, actor, shipment, row)
    return True


async def decide_excursion(
    session: AsyncSession, actor: Actor, *, shipment_id: int, accept: bool, note: str
) -> Shipment:
    """A pharmacist of the shipment's institution decides on a cold-chain excursion: accept
    (the drugs are still fit; the delivery may complete) or reject (the parcel is returned and
    the drugs are not used)."""
    shipment = await shipment_for(session, actor, shipment_id, lock=True, pharmacist_only=True)
    if shipment.excursion != "pending":
        raise Conflict(
            "pharmacy.no_excursion_pending",
            "Shipment {shipment_id} has no temperature excursion awaiting a decision.",
            shipment_id=shipment_id,
        )
    shipment.excursion = "accepted" if accept else "rejected"
    shipment.excursion_decided_at = actor.clock.now()
    shipment.excursion_decided_by_account_id = actor.account_id
    shipment.excursion_note = note
    await record(
        session,
        actor,
        action="pharmacy.cold_chain_excursion.decided",
        subject_type="shipment",
        subject_id=shipment.id,
        details={"accept": accept, "note": note},
    )
    await settle_status(session, actor, shipment, excursion=shipment.excursion)
    return shipment
