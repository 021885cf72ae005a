"""JSON routes of returned parcels, for the institution's pharmacists: the orders whose parcel
comes back, recording its arrival and deciding once to restock or destroy its drugs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.pharmacy.return_schemas import OrderReturnRead, ReturnDecision
from ihospital.pharmacy.returns import decide_return, receive_return, returns_to_handle
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api/pharmacy", tags=["pharmacy"])

Pharmacist = Annotated[Actor, Depends(require(Permission.PHARMACY_DISPENSE))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/returns")
async def returns(session: DbSession, actor: Pharmacist) -> list[OrderReturnRead]:
    """The institution's orders whose parcel comes back and awaits its receipt or a decision."""
    return [OrderReturnRead.of(view) for view in await returns_to_handle(session, actor)]


@router.post("/orders/{order_id}/return")
async def receive(order_id: Id, session: DbSession, actor: Pharmacist) -> OrderReturnRead:
    """Record that the parcel of a refunded or rejected delivery came back (idempotent)."""
    return OrderReturnRead.of(await receive_return(session, actor, order_id=order_id))


@router.post(
    "/orders/{order_id}/return/decision",
    responses={409: {"description": "Not received yet, already decided, or not restockable."}},
)
async def decide(
    order_id: Id, body: ReturnDecision, session: DbSession, actor: Pharmacist
) -> OrderReturnRead:
    """Put the returned drugs back into the pharmacy's stock, or destroy them with a reason;
    once."""
    view = await decide_return(
        session, actor, order_id=order_id, decision=body.decision, reason=body.reason
    )
    return OrderReturnRead.of(view)
