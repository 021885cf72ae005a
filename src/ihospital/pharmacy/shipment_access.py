"""Who may handle a shipment: the system (the pharmacy order service's handlers) or a
pharmacist of the shipment's institution; to anyone else another institution's shipment does
not exist."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.errors import NotFound
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.security.permissions import Role


def shipment_not_found(shipment_id: int) -> NotFound:
    return NotFound(
        "pharmacy.shipment_not_found",
        "Shipment {shipment_id} was not found.",
        shipment_id=shipment_id,
    )


def may_ship_for(actor: Actor, institution_id: int) -> bool:
    """The system (the order service's handlers) or a pharmacist of the institution."""
    if actor.role == "system":
        return True
    return actor.role == Role.PHARMACIST and actor.institution_id == institution_id


async def shipment_for(
    session: AsyncSession,
    actor: Actor,
    shipment_id: int,
    *,
    lock: bool = False,
    pharmacist_only: bool = False,
) -> Shipment:
    """The shipment, if ``actor`` may handle it; another institution's is not found."""
    query = select(Shipment).where(Shipment.id == shipment_id)
    shipment = await session.scalar(query.with_for_update() if lock else query)
    if (
        shipment is None
        or not may_ship_for(actor, shipment.institution_id)
        or (pharmacist_only and actor.role != Role.PHARMACIST)
    ):
        raise shipment_not_found(shipment_id)
    return shipment
