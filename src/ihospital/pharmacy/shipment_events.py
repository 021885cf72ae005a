"""Events of pharmacy deliveries, for the pharmacy order service and supervision (R13).

Every change of a shipment's status is one audit entry and one outbox event
``pharmacy.shipment_status_changed``; a temperature outside 2–8 °C is also
``pharmacy.cold_chain_excursion``. The event's handler calls each subscriber in turn (a
subscriber registers with ``@subscribe(SHIPMENT_STATUS_CHANGED)`` in its domain's ``tasks``
module; see :mod:`ihospital.outbox.publications`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.outbox.publications import Publications
from ihospital.outbox.service import emit
from ihospital.pharmacy.shipment_models import Shipment, TemperatureReadingRecord

SHIPMENT_STATUS_CHANGED = "pharmacy.shipment_status_changed"
COLD_CHAIN_EXCURSION = "pharmacy.cold_chain_excursion"
TOPICS = (SHIPMENT_STATUS_CHANGED, COLD_CHAIN_EXCURSION)

PUBLICATIONS = Publications("pharmacy deliveries", TOPICS)
# Every payload holds shipment_id, order_reference, institution_id, carrier, cold_chain, status.
subscribe = PUBLICATIONS.subscribe


def _payload(shipment: Shipment, actor: Actor) -> dict[str, Any]:
    return {
        "shipment_id": shipment.id,
        "order_reference": shipment.order_reference,
        "institution_id": shipment.institution_id,
        "carrier": shipment.carrier,
        "cold_chain": shipment.cold_chain,
        "status": shipment.status,
        "at": actor.clock.now().isoformat(),
    }


def current_status(shipment: Shipment) -> str:
    """What the shipment's status is, from the carrier's progress and our decisions."""
    if shipment.excursion == "rejected":
        return "returned"
    if shipment.cancelled_at is not None:
        return "cancelled"
    if shipment.excursion == "pending":
        return "temperature_excursion"
    return shipment.carrier_status


async def settle_status(
    session: AsyncSession, actor: Actor, shipment: Shipment, **details: Any
) -> bool:
    """Bring ``status`` up to date; when it changes, audit and publish the change (R13)."""
    previous, status = shipment.status, current_status(shipment)
    if status == previous:
        return False
    shipment.status = status
    shipment.updated_at = actor.clock.now()
    await announce(session, actor, shipment, previous=previous, **details)
    return True


async def announce(
    session: AsyncSession, actor: Actor, shipment: Shipment, *, previous: str | None, **details: Any
) -> None:
    """Audit and publish that ``shipment`` came to its status from ``previous`` (None: new)."""
    await session.flush()
    await record(
        session,
        actor,
        action=SHIPMENT_STATUS_CHANGED,
        subject_type="shipment",
        subject_id=shipment.id,
        details={"status": shipment.status, "previous_status": previous, **details},
    )
    payload = {**_payload(shipment, actor), "previous_status": previous, **details}
    await emit(session, actor, topic=SHIPMENT_STATUS_CHANGED, payload=payload)


async def publish_excursion(
    session: AsyncSession, actor: Actor, shipment: Shipment, reading: TemperatureReadingRecord
) -> None:
    """Audit and publish a reading outside 2–8 °C (an alert for supervision)."""
    details = {"celsius": str(reading.celsius), "measured_at": reading.measured_at.isoformat()}
    await record(
        session,
        actor,
        action=COLD_CHAIN_EXCURSION,
        subject_type="shipment",
        subject_id=shipment.id,
        details=details,
    )
    payload = {**_payload(shipment, actor), "reading_id": reading.id, **details}
    await emit(session, actor, topic=COLD_CHAIN_EXCURSION, payload=payload)
