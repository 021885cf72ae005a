"""JSON routes of pharmacy deliveries: the carriers' tracking callbacks, and for the
institution's pharmacists a shipment with its tracking and the decision on a cold-chain
excursion. The pharmacy order pages show the tracking; they call the same services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from ihospital.core.context import Actor
from ihospital.deps import DbSession, anonymous_actor, require
from ihospital.pharmacy.shipment_schemas import (
    CallbackAck,
    ExcursionDecision,
    ShipmentDetail,
    ShipmentRead,
)
from ihospital.pharmacy.shipment_tracking import decide_excursion, receive_callback
from ihospital.pharmacy.shipments import get_shipment
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api/pharmacy", tags=["pharmacy deliveries"])

Pharmacist = Annotated[Actor, Depends(require(Permission.SHIPMENTS_TRACK))]
ShipmentId = Annotated[int, Path(ge=1, le=2**62)]


@router.post(
    "/carriers/{carrier}/callbacks",
    responses={400: {"description": "Refused: bad signature, stale, unknown shipment …"}},
)
async def carrier_callback(
    carrier: Annotated[str, Path(min_length=1, max_length=32)],
    request: Request,
    session: DbSession,
) -> CallbackAck:
    """Where a carrier sends its signed tracking callbacks (路由推送). Anything that fails
    verification is refused with 400 and changes nothing; repeats are acknowledged."""
    outcome = await receive_callback(
        session,
        anonymous_actor(request),
        carrier=carrier,
        headers=request.headers,
        body=await request.body(),
        carriers=request.app.state.carriers,
    )
    return CallbackAck(outcome=outcome)


@router.get("/shipments/{shipment_id}")
async def read_shipment(
    shipment_id: ShipmentId, session: DbSession, actor: Pharmacist
) -> ShipmentDetail:
    """A shipment of the pharmacist's institution, with its scans and temperature readings."""
    return ShipmentDetail.of(await get_shipment(session, actor, shipment_id=shipment_id))


@router.post("/shipments/{shipment_id}/excursion-decision")
async def excursion_decision(
    shipment_id: ShipmentId, body: ExcursionDecision, session: DbSession, actor: Pharmacist
) -> ShipmentRead:
    """Accept a parcel after a cold-chain excursion (the delivery may complete) or reject it
    (returned)."""
    shipment = await decide_excursion(
        session, actor, shipment_id=shipment_id, accept=body.accept, note=body.note
    )
    return ShipmentRead.model_validate(shipment)
