"""Telling the pharmacists that a delivery waits for their decision (站内信).

When the carrier reports a failed delivery, the pharmacists of the dispensing pharmacy's
institution decide whether to ship it again or to cancel and refund it; when a cold-chain
excursion holds a parcel, whether to accept or reject it. :func:`ask_for_decision` writes one
outbox event per occasion (a failed shipment, or one excursion reading), keyed so that a carrier
repeating its event, or a shipment coming back to ``failed`` after an accepted excursion, asks
nothing twice; its handler (:func:`tell_pharmacists`) sends each pharmacist a message linking to
the order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.identity.accounts import staff_account_ids
from ihospital.notifications.service import notify
from ihospital.outbox.service import emit
from ihospital.pharmacy.models import PharmacyOrder
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.security.permissions import Role

DECISION_TOPIC = "pharmacy.decision_needed"
FAILED_MESSAGES = {
    "title": "A delivery failed",
    "body": (
        "The carrier could not deliver order {number}. Decide whether to ship it again or to "
        "cancel and refund it."
    ),
}
EXCURSION_MESSAGES = {
    "title": "A cold-chain parcel is held",
    "body": (
        "A temperature outside 2–8 °C was recorded for order {number}. Decide whether to accept "
        "the parcel or to reject it (it is returned and refunded)."
    ),
}
ASKED = {"failed": FAILED_MESSAGES, "temperature_excursion": EXCURSION_MESSAGES}


async def ask_for_decision(
    session: AsyncSession, actor: Actor, order: PharmacyOrder, shipment: Shipment, occasion: str
) -> None:
    """Ask the pharmacists once about ``shipment`` (its status is one of :data:`ASKED`);
    ``occasion`` names the event, so the same event never asks twice."""
    await emit(
        session,
        actor,
        topic=DECISION_TOPIC,
        payload={
            "order_id": order.id,
            "number": order.number,
            "institution_id": order.institution_id,
            "pharmacy_id": order.pharmacy_id,
            "shipment_id": shipment.id,
            "status": shipment.status,
        },
        dedupe_key=f"{DECISION_TOPIC}:{shipment.id}:{occasion}",
    )


async def tell_pharmacists(session: AsyncSession, actor: Actor, payload: dict[str, Any]) -> None:
    """A 站内信 to each active pharmacist of the order's institution, linking to the order."""
    messages = ASKED[payload["status"]]
    for account_id in await staff_account_ids(
        session, institution_id=payload["institution_id"], role=Role.PHARMACIST
    ):
        await notify(
            session,
            actor,
            account_id=account_id,
            kind="pharmacy",
            title=messages["title"],
            body=messages["body"],
            link=f"/pharmacy/orders/{payload['order_id']}",
            fields={"number": payload["number"]},
        )
