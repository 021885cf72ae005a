"""JSON routes of pharmacies and pharmacy orders: the institution's admins register pharmacies,
pharmacists keep the stock and hand orders over, patients buy the drugs of an approved
prescription and follow their orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from ihospital.core.context import Actor
from ihospital.core.money import yuan_to_fen
from ihospital.deps import DbSession, require
from ihospital.identity.auth import keeping_failed_attempts
from ihospital.pharmacy.delivery import refund_failed, ship_order
from ihospital.pharmacy.orders import Delivery, candidate_pharmacies, place_order
from ihospital.pharmacy.schemas import (
    CancelCreate,
    CandidateRead,
    HandOverCreate,
    PharmacyOrderCreate,
    PharmacyOrderRead,
    PharmacyRead,
    PharmacyWrite,
    StockChange,
    StockRead,
    StockSet,
)
from ihospital.pharmacy.service import (
    dispense_order,
    get_order,
    hand_over,
    my_orders,
    orders_to_handle,
    renew_pickup_code,
)
from ihospital.pharmacy.states import cancel_order
from ihospital.pharmacy.stock import (
    PharmacyValues,
    change_stock,
    create_pharmacy,
    institution_pharmacies,
    pharmacy_stock,
    set_stock,
    update_pharmacy,
)
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["pharmacy"])

Manager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
Pharmacist = Annotated[Actor, Depends(require(Permission.PHARMACY_DISPENSE))]
Buyer = Annotated[Actor, Depends(require(Permission.PHARMACY_ORDERS_OWN))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


def pharmacy_values(body: PharmacyWrite) -> PharmacyValues:
    values = body.model_dump(exclude={"delivery_fee"})
    return PharmacyValues(**values, delivery_fee_fen=yuan_to_fen(body.delivery_fee))


def delivery_of(body: PharmacyOrderCreate) -> Delivery:
    return Delivery(body.recipient_name or "", body.recipient_phone or "", body.address or "")


@router.get("/institutions/{institution_id}/pharmacies")
async def pharmacies(institution_id: Id, session: DbSession, actor: Manager) -> list[PharmacyRead]:
    """The institution's pharmacies (its own and partner retail pharmacies)."""
    rows = await institution_pharmacies(session, actor, institution_id=institution_id)
    return [PharmacyRead.of(row) for row in rows]


@router.post("/institutions/{institution_id}/pharmacies", status_code=201)
async def add_pharmacy(
    institution_id: Id, body: PharmacyWrite, session: DbSession, actor: Manager
) -> PharmacyRead:
    """Register a pharmacy: licence, address, delivery, pick-up and cold-chain capability."""
    pharmacy = await create_pharmacy(
        session, actor, institution_id=institution_id, values=pharmacy_values(body)
    )
    return PharmacyRead.of(pharmacy)


@router.put("/pharmacies/{pharmacy_id}")
async def edit_pharmacy(
    pharmacy_id: Id, body: PharmacyWrite, session: DbSession, actor: Manager
) -> PharmacyRead:
    """Change a pharmacy of the institution (``active: false`` closes it for new orders)."""
    pharmacy = await update_pharmacy(
        session, actor, pharmacy_id=pharmacy_id, values=pharmacy_values(body)
    )
    return PharmacyRead.of(pharmacy)


@router.get("/pharmacies/{pharmacy_id}/stock")
async def stock(pharmacy_id: Id, session: DbSession, actor: Pharmacist) -> list[StockRead]:
    """The pharmacy's stock: on hand, reserved by orders, price per package."""
    rows = await pharmacy_stock(session, actor, pharmacy_id=pharmacy_id)
    return [StockRead.of(row, drug) for row, drug in rows]


@router.put("/pharmacies/{pharmacy_id}/stock/{drug_id}")
async def count_stock(
    pharmacy_id: Id, drug_id: Id, body: StockSet, session: DbSession, actor: Pharmacist
) -> StockRead:
    """Set the count (盘点) and price of a drug at the pharmacy."""
    await set_stock(
        session,
        actor,
        pharmacy_id=pharmacy_id,
        drug_id=drug_id,
        on_hand=body.on_hand,
        price_fen=yuan_to_fen(body.price),
    )
    return await _stock_row(session, actor, pharmacy_id, drug_id)


@router.post("/pharmacies/{pharmacy_id}/stock/{drug_id}/changes")
async def change(
    pharmacy_id: Id, drug_id: Id, body: StockChange, session: DbSession, actor: Pharmacist
) -> StockRead:
    """Receive packages or adjust the count with a reason."""
    await change_stock(
        session,
        actor,
        pharmacy_id=pharmacy_id,
        drug_id=drug_id,
        change=body.change,
        reason=body.reason,
    )
    return await _stock_row(session, actor, pharmacy_id, drug_id)


async def _stock_row(session, actor: Actor, pharmacy_id: int, drug_id: int) -> StockRead:
    rows = await pharmacy_stock(session, actor, pharmacy_id=pharmacy_id)
    return next(StockRead.of(row, drug) for row, drug in rows if drug.id == drug_id)


@router.get("/prescriptions/{prescription_id}/pharmacies")
async def candidates(prescription_id: Id, session: DbSession, actor: Buyer) -> list[CandidateRead]:
    """Where an approved prescription of the account can be filled, with prices and stock."""
    _, found = await candidate_pharmacies(session, actor, prescription_id=prescription_id)
    return [CandidateRead.of(candidate) for candidate in found]


@router.post("/pharmacy-orders", status_code=201)
async def order(body: PharmacyOrderCreate, session: DbSession, actor: Buyer) -> PharmacyOrderRead:
    """Order the drugs of an approved prescription (R06, R16, R19); pay the bill it names."""
    placed = await place_order(
        session,
        actor,
        prescription_id=body.prescription_id,
        pharmacy_id=body.pharmacy_id,
        fulfilment=body.fulfilment,
        risk_notice_confirmed=body.risk_notice_confirmed,
        delivery=delivery_of(body),
    )
    return PharmacyOrderRead.of_view(
        await get_order(session, actor, order_id=placed.id), show_code=True
    )


@router.get("/pharmacy-orders")
async def mine(session: DbSession, actor: Buyer) -> list[PharmacyOrderRead]:
    """The account's pharmacy orders, newest first."""
    return [PharmacyOrderRead.of(row) for row in await my_orders(session, actor)]


@router.get("/pharmacy-orders/{order_id}")
async def my_order(order_id: Id, session: DbSession, actor: Buyer) -> PharmacyOrderRead:
    """One of the account's orders, with its drugs and the pick-up code."""
    return PharmacyOrderRead.of_view(
        await get_order(session, actor, order_id=order_id), show_code=True
    )


@router.post("/pharmacy-orders/{order_id}/cancel")
async def cancel_mine(order_id: Id, session: DbSession, actor: Buyer) -> PharmacyOrderRead:
    """Cancel an order before it is dispensed (a paid one is refunded)."""
    cancelled = await cancel_order(session, actor, order_id=order_id, reason="patient")
    return PharmacyOrderRead.of(cancelled)


@router.post("/pharmacy-orders/{order_id}/pickup-code")
async def new_code(order_id: Id, session: DbSession, actor: Buyer) -> PharmacyOrderRead:
    """Replace the pick-up code (the tries at the window start again)."""
    order = await renew_pickup_code(session, actor, order_id=order_id)
    return PharmacyOrderRead.of(order, show_code=True)


@router.get("/pharmacy/orders")
async def queue(session: DbSession, actor: Pharmacist) -> list[PharmacyOrderRead]:
    """The institution's orders to dispense, ship or hand over, oldest paid first."""
    return [PharmacyOrderRead.of(row) for row in await orders_to_handle(session, actor)]


@router.get("/pharmacy/orders/{order_id}")
async def staff_order(order_id: Id, session: DbSession, actor: Pharmacist) -> PharmacyOrderRead:
    """One order of the institution with its drugs (never the pick-up code)."""
    return PharmacyOrderRead.of_view(
        await get_order(session, actor, order_id=order_id), show_code=False
    )


@router.post("/pharmacy/orders/{order_id}/dispense")
async def dispense(order_id: Id, session: DbSession, actor: Pharmacist) -> PharmacyOrderRead:
    """Dispense a paid order: the stock falls and the prescription is filled (R19)."""
    return PharmacyOrderRead.of(await dispense_order(session, actor, order_id=order_id))


@router.post(
    "/pharmacy/orders/{order_id}/ship",
    responses={503: {"description": "The carrier did not answer in time; try again."}},
)
async def ship(
    order_id: Id, request: Request, session: DbSession, actor: Pharmacist
) -> PharmacyOrderRead:
    """Book the carrier for a dispensed delivery (the cold-chain one for 2–8 °C drugs), or
    again after a failed delivery; the carrier's tracking then delivers the order."""
    shipped = await ship_order(
        session, actor, order_id=order_id, carriers=request.app.state.carriers
    )
    return PharmacyOrderRead.of(shipped)


@router.post("/pharmacy/orders/{order_id}/refund")
async def refund(order_id: Id, session: DbSession, actor: Pharmacist) -> PharmacyOrderRead:
    """Give up a failed delivery: the order is cancelled and its bill refunded."""
    return PharmacyOrderRead.of(await refund_failed(session, actor, order_id=order_id))


@router.post("/pharmacy/orders/{order_id}/hand-over")
async def hand_over_at_window(
    order_id: Id, body: HandOverCreate, session: DbSession, actor: Pharmacist
) -> PharmacyOrderRead:
    """窗口取药: hand a dispensed order over against the patient's code (tries are limited)."""
    async with keeping_failed_attempts(session):
        handed = await hand_over(session, actor, order_id=order_id, code=body.code)
    return PharmacyOrderRead.of(handed)


@router.post("/pharmacy/orders/{order_id}/cancel")
async def cancel_staff(
    order_id: Id, body: CancelCreate, session: DbSession, actor: Pharmacist
) -> PharmacyOrderRead:
    """Cancel an order the pharmacy cannot fill, before dispensing (a paid one is refunded)."""
    cancelled = await cancel_order(session, actor, order_id=order_id, reason=body.reason)
    return PharmacyOrderRead.of(cancelled)
