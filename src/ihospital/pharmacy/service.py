"""Reading pharmacy orders and handing their drugs over.

The account reads its own orders; pharmacists read their institution's. A pharmacist dispenses a
paid order (发药): the reserved packages leave the stock and the prescription is marked filled,
once (R19). A delivery is then shipped with a carrier (:mod:`ihospital.pharmacy.delivery`) and
delivered when the carrier's tracking says so (:func:`deliver_order` is the one place the
delivered step happens); a pick-up is handed over at the
window against the 6-digit code shown to the patient, with :data:`MAX_PICKUP_ATTEMPTS` tries.
Every read of an order (health data: the drugs of a prescription) and every change is audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import and_, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.errors import Locked, RuleViolation, Unprocessable
from ihospital.pharmacy.models import PharmacyOrder, PharmacyOrderItem
from ihospital.pharmacy.prescription_checks import check_usable
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.pharmacy.states import (
    order_items,
    order_not_found,
    own_or_staffed_order,
    transition,
    wrong_state,
)
from ihospital.pharmacy.stock import consume, works_at
from ihospital.prescribing.models import Prescription

MAX_PICKUP_ATTEMPTS = 5
STAFF_QUEUE = ("paid", "dispensed", "shipped")
NEEDS_DECISION = ("failed", "temperature_excursion")  # a shipped order's shipment waits for us
PAGE_SIZE = 50


@dataclass(frozen=True)
class OrderView:
    order: PharmacyOrder
    items: list[PharmacyOrderItem]


async def get_order(session: AsyncSession, actor: Actor, *, order_id: int) -> OrderView:
    """One order with its drugs, for its account or the institution's pharmacists (audited)."""
    order = await own_or_staffed_order(session, actor, order_id)
    await _audit_read(session, actor, [order])
    return OrderView(order, await order_items(session, order.id))


async def _audit_read(session: AsyncSession, actor: Actor, orders: list[PharmacyOrder]) -> None:
    for order in orders:
        await record(
            session,
            actor,
            action="pharmacy.order.read",
            subject_type="pharmacy_order",
            subject_id=order.id,
            patient_id=order.patient_id,
        )


async def my_orders(session: AsyncSession, actor: Actor) -> list[PharmacyOrder]:
    """The account's orders, newest first (audited)."""
    orders = list(
        (
            await session.scalars(
                select(PharmacyOrder)
                .where(PharmacyOrder.account_id == actor.account_id)
                .order_by(PharmacyOrder.created_at.desc(), PharmacyOrder.id.desc())
                .limit(PAGE_SIZE)
            )
        ).all()
    )
    await _audit_read(session, actor, orders)
    return orders


async def orders_to_handle(session: AsyncSession, actor: Actor) -> list[PharmacyOrder]:
    """The institution's orders a pharmacist still acts on (paid, dispensed, shipped): first the
    deliveries that need a decision (failed, or held by a cold-chain excursion), then the others,
    oldest first (audited)."""
    waiting = and_(PharmacyOrder.status == "shipped", Shipment.status.in_(NEEDS_DECISION))
    orders = list(
        (
            await session.scalars(
                select(PharmacyOrder)
                .outerjoin(Shipment, Shipment.id == PharmacyOrder.shipment_id)
                .where(
                    PharmacyOrder.institution_id == actor.institution_id,
                    PharmacyOrder.status.in_(STAFF_QUEUE),
                )
                .order_by(case((waiting, 0), else_=1), PharmacyOrder.paid_at, PharmacyOrder.id)
                .limit(PAGE_SIZE)
            )
        ).all()
    )
    await _audit_read(session, actor, orders)
    return orders


async def waiting_for_decision(
    session: AsyncSession, orders: list[PharmacyOrder]
) -> dict[int, str]:
    """Of ``orders``, those shipped whose shipment waits for the pharmacist (failed, or held by
    a cold-chain excursion), with that shipment's status, by order id."""
    shipped = {o.shipment_id: o.id for o in orders if o.status == "shipped" and o.shipment_id}
    if not shipped:
        return {}
    rows = await session.execute(
        select(Shipment.id, Shipment.status).where(
            Shipment.id.in_(shipped), Shipment.status.in_(NEEDS_DECISION)
        )
    )
    return {shipped[shipment_id]: status for shipment_id, status in rows.all()}


async def staffed_order(session: AsyncSession, actor: Actor, order_id: int) -> PharmacyOrder:
    order = await own_or_staffed_order(session, actor, order_id, for_update=True)
    if not works_at(actor, order.institution_id):
        raise order_not_found(order_id)
    return order


async def dispense_order(session: AsyncSession, actor: Actor, *, order_id: int) -> PharmacyOrder:
    """发药: a paid order's drugs leave the stock and its prescription is filled, once (R19),
    only while it is valid (R16) and still what its doctor signed (R06)."""
    order = await staffed_order(session, actor, order_id)
    if order.status != "paid":
        raise wrong_state(order)
    prescription = await session.get(Prescription, order.prescription_id, populate_existing=True)
    assert prescription is not None  # a foreign key
    await check_usable(session, actor, prescription)
    items = await order_items(session, order.id)
    now = actor.clock.now()
    filled = await session.execute(
        update(Prescription)
        .where(Prescription.id == order.prescription_id, Prescription.status == "approved")
        .values(status="filled", filled_at=now)
        .execution_options(synchronize_session=False)
    )
    if filled.rowcount != 1:  # type: ignore[attr-defined]
        raise RuleViolation(
            "R19", "This prescription has already been filled and cannot be used again."
        )
    await consume(
        session,
        actor,
        pharmacy_id=order.pharmacy_id,
        quantities={item.drug_id: item.quantity for item in items},
    )
    order.dispensed_at, order.dispensed_by_account_id = now, actor.account_id
    await transition(session, actor, order, "dispensed")
    return order


async def deliver_order(session: AsyncSession, actor: Actor, *, order_id: int) -> PharmacyOrder:
    """A shipped order reached the patient: called only when the carrier's tracking says so
    (:func:`ihospital.pharmacy.delivery.follow_shipment`), never by hand."""
    order = await staffed_order(session, actor, order_id)
    if order.status != "shipped":
        raise wrong_state(order)
    order.delivered_at = actor.clock.now()
    await transition(session, actor, order, "delivered")
    return order


async def hand_over(
    session: AsyncSession, actor: Actor, *, order_id: int, code: str
) -> PharmacyOrder:
    """窗口取药: hand a dispensed pick-up order over when the patient's code matches. A wrong
    code uses up one of :data:`MAX_PICKUP_ATTEMPTS` tries (flushed before the refusal, which
    the route keeps); then the window refuses until the patient asks for a new code."""
    order = await staffed_order(session, actor, order_id)
    if order.status != "dispensed" or order.fulfilment != "pickup" or order.pickup_code is None:
        raise wrong_state(order)
    if order.pickup_attempts >= MAX_PICKUP_ATTEMPTS:
        raise _too_many_tries()
    if not secrets.compare_digest(code.encode(), order.pickup_code.encode()):
        order.pickup_attempts += 1
        await session.flush()
        await record(
            session,
            actor,
            action="pharmacy.order.pickup_refused",
            subject_type="pharmacy_order",
            subject_id=order.id,
            patient_id=order.patient_id,
            details={"attempts": order.pickup_attempts},
        )
        if order.pickup_attempts >= MAX_PICKUP_ATTEMPTS:
            raise _too_many_tries()
        raise Unprocessable(
            "pharmacy.pickup_code_wrong",
            "The pick-up code is wrong. {attempts_left} tries left.",
            field="code",
            attempts_left=MAX_PICKUP_ATTEMPTS - order.pickup_attempts,
        )
    order.picked_up_at = actor.clock.now()
    await transition(session, actor, order, "picked_up")
    return order


def _too_many_tries() -> Locked:
    return Locked(
        "pharmacy.pickup_locked",
        "The pick-up code was entered wrongly too often; the patient can show a new code.",
        field="code",
    )


async def renew_pickup_code(session: AsyncSession, actor: Actor, *, order_id: int) -> PharmacyOrder:
    """The account replaces the pick-up code of its order (after too many wrong tries, or if it
    was seen by someone else): the tries start again."""
    order = await own_or_staffed_order(session, actor, order_id, for_update=True)
    if order.account_id != actor.account_id:
        raise order_not_found(order_id)
    if order.fulfilment != "pickup" or order.status not in ("created", "paid", "dispensed"):
        raise wrong_state(order)
    order.pickup_code, order.pickup_attempts = f"{secrets.randbelow(10**6):06d}", 0
    await session.flush()
    await record(
        session,
        actor,
        action="pharmacy.order.pickup_code_renewed",
        subject_type="pharmacy_order",
        subject_id=order.id,
        patient_id=order.patient_id,
    )
    return order
