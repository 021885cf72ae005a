"""After a delivery does not arrive: the pharmacists are told once of a failed delivery or a
held cold-chain parcel, and the dispatch queue puts such orders first; a parcel that comes back
is received once, then restocked or destroyed once, and a cold-chain parcel that left 2–8 °C is
never restocked."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.errors import AppError, NotFound
from ihospital.notifications.models import InboxMessage
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.carriers.base import TrackingEvent, TrackingUpdate
from ihospital.pharmacy.decisions import DECISION_TOPIC
from ihospital.pharmacy.delivery import decide_order_excursion, follow_shipment, refund_failed
from ihospital.pharmacy.models import OrderReturn, PharmacyOrder, PharmacyStock
from ihospital.pharmacy.orders import place_order
from ihospital.pharmacy.returns import decide_return, receive_return, returns_to_handle
from ihospital.pharmacy.service import orders_to_handle, waiting_for_decision
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.pharmacy.shipment_tracking import apply_update
from ihospital.pharmacy.states import confirm_paid
from tests.billing.builders import reloaded
from tests.identity.builders import make_account, make_patient
from tests.pharmacy.delivery_builders import (
    dispensed_delivery,
    run_worker,
    shipped_delivery,
)
from tests.pharmacy.order_builders import approved_prescription, make_shop


async def _inbox(session, account_id: int) -> list[InboxMessage]:
    rows = await session.scalars(
        select(InboxMessage).where(InboxMessage.account_id == account_id).order_by(InboxMessage.id)
    )
    return [row for row in rows.all() if row.kind == "pharmacy"]


async def _on_hand(session, shop) -> int:
    row = await session.scalar(
        select(PharmacyStock)
        .where(PharmacyStock.pharmacy_id == shop.pharmacy.id, PharmacyStock.drug_id == shop.drug.id)
        .execution_options(populate_existing=True)
    )
    return row.on_hand


async def _audits(session, action: str, subject_id: int) -> int:
    return await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.subject_id == str(subject_id))
    )


async def _failed_and_refunded(session, session_factory, clock, outside, **options):
    shop, order = await shipped_delivery(
        session, session_factory, clock, outside, script="failed", **options
    )
    await run_worker(session_factory, clock, outside)
    return shop, order


async def test_a_failed_delivery_tells_each_pharmacist_once_even_when_the_carrier_repeats_it(
    session, session_factory, clock, outside
):
    shop, order = await shipped_delivery(session, session_factory, clock, outside, script="failed")
    colleague = await make_account(
        session, role="pharmacist", institution_id=shop.practice.institution.id, clock=clock
    )
    stranger = await make_shop(session, clock=clock)
    await run_worker(session_factory, clock, outside)
    for account_id in (shop.pharmacist.id, colleague.id):
        [message] = await _inbox(session, account_id)
        assert message.title == "A delivery failed"
        assert message.link == f"/pharmacy/orders/{order.id}"
        assert order.number in message.fields
    assert await _inbox(session, stranger.pharmacist.id) == []
    assert await _inbox(session, shop.patient.account_id) == []

    shipment = await session.get(
        Shipment, (await reloaded(session, PharmacyOrder, order.id)).shipment_id
    )
    system = Actor.system(clock)
    repeated = TrackingEvent("repeat-failed-1", "failed", clock.now())
    assert (
        await apply_update(
            session, system, shipment, TrackingUpdate(shipment.carrier_shipment_id, (repeated,))
        )
        == "applied"
    )  # stored, but a shipment that failed already does not fail again
    payload = {"shipment_id": shipment.id, "status": "failed"}
    await follow_shipment(session, system, payload)  # the status event handled twice
    await session.flush()
    await run_worker(session_factory, clock, outside)
    for account_id in (shop.pharmacist.id, colleague.id):
        assert len(await _inbox(session, account_id)) == 1
    asked = await session.scalar(
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.topic == DECISION_TOPIC)
    )
    assert asked == 1


async def test_the_dispatch_queue_puts_the_orders_that_need_a_decision_first(
    session, session_factory, clock, outside
):
    shop, failed = await _failed_and_refunded(session, session_factory, clock, outside)
    buyer = await make_account(session, clock=clock)
    patient = await make_patient(session, account=buyer, clock=clock)
    prescription = await approved_prescription(
        session, clock=clock, practice=shop.practice, drug=shop.drug, patient=patient
    )
    waiting = await place_order(
        session,
        Actor(role="patient", clock=clock, account_id=buyer.id),
        prescription_id=prescription.id,
        pharmacy_id=shop.pharmacy.id,
        fulfilment="pickup",
        risk_notice_confirmed=True,
    )
    await confirm_paid(
        session, Actor.system(clock), order_id=waiting.id, billing_order_id=waiting.billing_order_id
    )
    waiting.paid_at = clock.now() - timedelta(days=2)  # paid long before the failed one
    await session.flush()
    orders = await orders_to_handle(session, shop.dispenser(clock))
    assert [o.id for o in orders] == [failed.id, waiting.id]
    assert await waiting_for_decision(session, orders) == {failed.id: "failed"}


async def test_a_held_cold_chain_parcel_and_then_its_failure_are_each_told_once(
    session, session_factory, clock, outside
):
    shop, order = await shipped_delivery(
        session,
        session_factory,
        clock,
        outside,
        cold_chain=True,
        script="failed",
        excursion_celsius=Decimal("11.5"),
    )
    await run_worker(session_factory, clock, outside)
    [held] = await _inbox(session, shop.pharmacist.id)
    assert held.title == "A cold-chain parcel is held"
    await decide_order_excursion(
        session, shop.dispenser(clock), order_id=order.id, accept=True, note="记录仪故障"
    )
    await session.flush()
    await run_worker(session_factory, clock, outside)
    titles = [message.title for message in await _inbox(session, shop.pharmacist.id)]
    assert titles == ["A cold-chain parcel is held", "A delivery failed"]

    # the parcel was outside 2–8 °C: once back, it is never restocked
    await refund_failed(session, shop.dispenser(clock), order_id=order.id)
    await receive_return(session, shop.dispenser(clock), order_id=order.id)
    before = await _on_hand(session, shop)
    with pytest.raises(AppError) as refused:
        await decide_return(
            session, shop.dispenser(clock), order_id=order.id, decision="restock", reason=""
        )
    assert refused.value.code == "pharmacy.return_not_restockable" and refused.value.status == 409
    assert await _on_hand(session, shop) == before


async def test_a_refunded_failed_delivery_is_received_and_restocked_once(
    session, session_factory, clock, outside
):
    shop, order = await _failed_and_refunded(session, session_factory, clock, outside)
    pharmacist = shop.dispenser(clock)
    with pytest.raises(AppError) as still_out:  # the pharmacist has not given it up yet
        await receive_return(session, pharmacist, order_id=order.id)
    assert still_out.value.code == "pharmacy.return_not_expected"
    await refund_failed(session, pharmacist, order_id=order.id)
    [due] = await returns_to_handle(session, pharmacist)
    assert due.order.id == order.id and due.received is None
    with pytest.raises(AppError) as early:
        await decide_return(session, pharmacist, order_id=order.id, decision="destroy", reason="x")
    assert early.value.code == "pharmacy.return_not_received"

    first = await receive_return(session, pharmacist, order_id=order.id)
    again = await receive_return(session, pharmacist, order_id=order.id)
    assert again.received.id == first.received.id
    assert await _audits(session, "pharmacy.order.return_received", order.id) == 1
    dispensed = await _on_hand(session, shop)
    decided = await decide_return(
        session, pharmacist, order_id=order.id, decision="restock", reason=""
    )
    assert decided.received.decision == "restock" and decided.received.decided_at is not None
    assert await _on_hand(session, shop) == dispensed + 2
    for decision in ("restock", "destroy"):
        with pytest.raises(AppError) as twice:
            await decide_return(
                session, pharmacist, order_id=order.id, decision=decision, reason="再次"
            )
        assert twice.value.code == "pharmacy.return_decided" and twice.value.status == 409
        assert twice.value.fields["decision"] == "restock"
    assert await _on_hand(session, shop) == dispensed + 2
    moved = await session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "pharmacy.stock.change",
            AuditEntry.subject_id == str(shop.pharmacy.id),
        )
    )
    assert [json.loads(entry.details)["reason"] for entry in moved.all()] == ["returned"]
    assert await _audits(session, "pharmacy.order.return_restocked", order.id) == 1
    assert await returns_to_handle(session, pharmacist) == []


async def test_a_rejected_cold_chain_parcel_is_destroyed_with_a_reason_never_restocked(
    session, session_factory, clock, outside
):
    shop, order = await shipped_delivery(
        session, session_factory, clock, outside, cold_chain=True, excursion_celsius=Decimal("12")
    )
    await run_worker(session_factory, clock, outside)
    pharmacist = shop.dispenser(clock)
    await decide_order_excursion(session, pharmacist, order_id=order.id, accept=False, note="超温")
    await session.flush()
    await run_worker(session_factory, clock, outside)
    assert (await reloaded(session, PharmacyOrder, order.id)).cancel_reason == "returned"
    await receive_return(session, pharmacist, order_id=order.id)
    before = await _on_hand(session, shop)
    with pytest.raises(AppError) as refused:
        await decide_return(session, pharmacist, order_id=order.id, decision="restock", reason="")
    assert refused.value.code == "pharmacy.return_not_restockable"
    with pytest.raises(AppError) as unexplained:
        await decide_return(session, pharmacist, order_id=order.id, decision="destroy", reason=" ")
    assert unexplained.value.code == "pharmacy.return_reason_invalid"
    destroyed = await decide_return(
        session, pharmacist, order_id=order.id, decision="destroy", reason="冷链中断，按规定销毁"
    )
    assert destroyed.received.reason == "冷链中断，按规定销毁"
    assert await _on_hand(session, shop) == before
    assert await _audits(session, "pharmacy.order.return_destroyed", order.id) == 1


async def test_only_the_institutions_pharmacists_handle_a_parcel_that_comes_back(
    session, session_factory, clock, outside
):
    shop, order = await _failed_and_refunded(session, session_factory, clock, outside)
    await refund_failed(session, shop.dispenser(clock), order_id=order.id)
    other = await make_shop(session, clock=clock)
    for actor in (other.dispenser(clock), shop.buyer(clock)):
        with pytest.raises(NotFound):
            await receive_return(session, actor, order_id=order.id)
        with pytest.raises(NotFound):
            await decide_return(session, actor, order_id=order.id, decision="destroy", reason="x")
    assert await returns_to_handle(session, other.dispenser(clock)) == []
    assert await session.scalar(select(func.count()).select_from(OrderReturn)) == 0


async def test_a_dispensed_order_that_never_left_does_not_come_back(
    session, session_factory, clock, outside
):
    shop, order = await dispensed_delivery(session, session_factory, clock, outside)
    with pytest.raises(AppError) as refused:
        await receive_return(session, shop.dispenser(clock), order_id=order.id)
    assert refused.value.code == "pharmacy.return_not_expected" and refused.value.status == 409
