"""Delivering pharmacy orders with the carrier (issue 6, items 5–6): shipping books the
(cold-chain) carrier, the carrier's tracking delivers the order through ``deliver_order``,
a failed delivery is shipped again or refunded, a cold-chain excursion holds the order until the
pharmacist decides; duplicated and late events change nothing more."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.models import Order
from ihospital.core.context import Actor
from ihospital.errors import AppError, NotFound, ServiceUnavailable
from ihospital.pharmacy.carriers import SANDBOX, Carriers
from ihospital.pharmacy.delivery import (
    decide_order_excursion,
    refund_failed,
    ship_order,
)
from ihospital.pharmacy.models import PharmacyOrder
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.pharmacy.states import REFUND_TOPIC
from tests.billing.builders import reloaded
from tests.pharmacy.builders import sandbox_of
from tests.pharmacy.delivery_builders import (
    dispensed_delivery,
    order_topics,
    paid_order,
    run_worker,
    shipped_delivery,
)
from tests.pharmacy.order_builders import make_shop


async def _order(session, order_id: int) -> PharmacyOrder:
    return await reloaded(session, PharmacyOrder, order_id)


async def _shipments(session) -> int:
    return await session.scalar(select(func.count()).select_from(Shipment))


async def test_the_carrier_tracking_delivers_the_order_once(
    session, session_factory, clock, outside
):
    shop, order = await shipped_delivery(session, session_factory, clock, outside, script="twice")
    shipped = await _order(session, order.id)
    shipment = await session.get(Shipment, shipped.shipment_id)
    assert shipped.status == "shipped" and shipment.carrier == SANDBOX
    assert shipped.tracking_number == shipment.carrier_shipment_id
    assert shipment.order_reference == order.number
    result = await run_worker(session_factory, clock, outside)
    assert result.failed == 0 and result.dead == 0
    delivered = await _order(session, order.id)
    assert delivered.status == "delivered" and delivered.delivered_at is not None
    assert await order_topics(session, order.id) == [
        "pharmacy.order_created",
        "pharmacy.order_paid",
        "pharmacy.order_dispensed",
        "pharmacy.order_shipped",
        "pharmacy.order_delivered",
    ]
    audits = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "pharmacy.order.delivered", AuditEntry.subject_id == str(order.id)
        )
    )
    assert audits == 1


async def test_a_late_scan_after_delivery_changes_nothing(session, session_factory, clock, outside):
    _, order = await shipped_delivery(session, session_factory, clock, outside, script="late")
    result = await run_worker(session_factory, clock, outside)
    assert result.failed == 0 and result.dead == 0
    assert (await _order(session, order.id)).status == "delivered"


async def test_only_a_dispensed_delivery_of_the_institution_is_shipped(
    session, session_factory, clock, outside
):
    shop = await make_shop(session, clock=clock)
    pickup = await paid_order(session, clock, shop)
    with pytest.raises(AppError) as unpaid:
        await ship_order(
            session, shop.dispenser(clock), order_id=pickup.id, carriers=outside.carriers
        )
    assert unpaid.value.code == "pharmacy.order_state"
    other_shop, order = await dispensed_delivery(session, session_factory, clock, outside)
    with pytest.raises(NotFound):
        await ship_order(
            session, shop.dispenser(clock), order_id=order.id, carriers=outside.carriers
        )
    patient = other_shop.buyer(clock)
    with pytest.raises(NotFound):
        await ship_order(session, patient, order_id=order.id, carriers=outside.carriers)
    assert await _shipments(session) == 0
    with pytest.raises(AppError) as again:
        await refund_failed(session, other_shop.dispenser(clock), order_id=order.id)
    assert again.value.code == "pharmacy.order_state"


async def test_a_carrier_timeout_leaves_the_order_dispensed_to_ship_later(
    session, session_factory, clock, outside
):
    shop, order = await dispensed_delivery(session, session_factory, clock, outside)
    sandbox_of(outside.carriers, cold_chain=False).fail_next("create", "timeout")
    with pytest.raises(ServiceUnavailable) as timeout:
        await ship_order(
            session, shop.dispenser(clock), order_id=order.id, carriers=outside.carriers
        )
    assert timeout.value.code == "pharmacy.carrier_timeout" and timeout.value.status == 503
    assert (await _order(session, order.id)).status == "dispensed"
    assert await _shipments(session) == 0
    await ship_order(session, shop.dispenser(clock), order_id=order.id, carriers=outside.carriers)
    assert (await _order(session, order.id)).status == "shipped"


async def test_cold_chain_drugs_go_only_with_a_cold_chain_carrier(
    session, session_factory, clock, outside
):
    shop, order = await dispensed_delivery(
        session, session_factory, clock, outside, cold_chain=True
    )
    no_cold_chain = Carriers(outside.carriers.by_name, standard=SANDBOX, cold_chain=SANDBOX)
    with pytest.raises(AppError) as refused:
        await ship_order(session, shop.dispenser(clock), order_id=order.id, carriers=no_cold_chain)
    assert refused.value.code == "pharmacy.carrier_not_cold_chain"
    assert await _shipments(session) == 0
    await ship_order(session, shop.dispenser(clock), order_id=order.id, carriers=outside.carriers)
    shipment = await session.get(Shipment, (await _order(session, order.id)).shipment_id)
    assert shipment.cold_chain and outside.carriers.named(shipment.carrier).cold_chain


async def test_a_failed_delivery_is_shipped_again_and_the_old_shipment_is_ignored(
    session, session_factory, clock, outside
):
    shop, order = await shipped_delivery(session, session_factory, clock, outside, script="failed")
    first = (await _order(session, order.id)).shipment_id
    await run_worker(session_factory, clock, outside)
    failed = await _order(session, order.id)
    assert failed.status == "shipped"
    assert (await reloaded(session, Shipment, first)).status == "failed"
    sandbox_of(outside.carriers, cold_chain=False).script_next("prompt")
    await ship_order(session, shop.dispenser(clock), order_id=order.id, carriers=outside.carriers)
    again = await _order(session, order.id)
    assert again.shipment_id != first and again.status == "shipped"
    second = await session.get(Shipment, again.shipment_id)
    assert second.order_reference == f"{order.number}-{first}"
    with pytest.raises(AppError):  # the new shipment has not failed
        await refund_failed(session, shop.dispenser(clock), order_id=order.id)
    await run_worker(session_factory, clock, outside)
    assert (await _order(session, order.id)).status == "delivered"


async def test_a_failed_delivery_can_be_refunded(session, session_factory, clock, outside):
    shop, order = await shipped_delivery(session, session_factory, clock, outside, script="failed")
    await run_worker(session_factory, clock, outside)
    await refund_failed(session, shop.dispenser(clock), order_id=order.id)
    cancelled = await _order(session, order.id)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "delivery_failed"
    await session.flush()
    await run_worker(session_factory, clock, outside)
    assert (await _order(session, order.id)).status == "refunded"
    assert (await reloaded(session, Order, order.billing_order_id)).status == "refunded"
    with pytest.raises(AppError):
        await ship_order(
            session, shop.dispenser(clock), order_id=order.id, carriers=outside.carriers
        )


async def test_an_excursion_holds_the_order_until_the_pharmacist_accepts(
    session, session_factory, clock, outside
):
    shop, order = await shipped_delivery(
        session, session_factory, clock, outside, cold_chain=True, excursion_celsius=Decimal("11.5")
    )
    await run_worker(session_factory, clock, outside)
    held = await _order(session, order.id)
    shipment = await reloaded(session, Shipment, held.shipment_id)
    assert held.status == "shipped" and shipment.status == "temperature_excursion"
    assert shipment.carrier_status == "delivered"
    await decide_order_excursion(
        session, shop.dispenser(clock), order_id=order.id, accept=True, note="数据记录仪故障"
    )
    await session.flush()
    await run_worker(session_factory, clock, outside)
    assert (await _order(session, order.id)).status == "delivered"
    with pytest.raises(AppError) as decided:
        await decide_order_excursion(
            session, shop.dispenser(clock), order_id=order.id, accept=False, note="再次"
        )
    assert decided.value.code == "pharmacy.order_state"


async def test_a_rejected_parcel_is_returned_and_the_order_refunded(
    session, session_factory, clock, outside
):
    shop, order = await shipped_delivery(
        session, session_factory, clock, outside, cold_chain=True, excursion_celsius=Decimal("11.5")
    )
    await run_worker(session_factory, clock, outside)
    system = Actor.system(clock)
    with pytest.raises(NotFound):  # only a pharmacist decides
        await decide_order_excursion(session, system, order_id=order.id, accept=False, note="x")
    await decide_order_excursion(
        session, shop.dispenser(clock), order_id=order.id, accept=False, note="超温 40 分钟"
    )
    await session.flush()
    result = await run_worker(session_factory, clock, outside)
    assert result.failed == 0 and result.dead == 0
    returned = await _order(session, order.id)
    assert returned.status == "refunded" and returned.cancel_reason == "returned"
    assert (await reloaded(session, Shipment, returned.shipment_id)).status == "returned"
    assert REFUND_TOPIC in await order_topics(session, order.id)
