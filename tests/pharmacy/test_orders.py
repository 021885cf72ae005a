"""Ordering the drugs of an approved prescription: the rules that refuse an order (R06, R16,
R19, stock, cold chain), the reservation, the bill and paying it, cancelling and expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.models import Order, OrderLine
from ihospital.errors import AppError, NotFound
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.models import PharmacyOrder, PharmacyStock
from ihospital.pharmacy.orders import HOLD_MINUTES, candidate_pharmacies, place_order
from ihospital.pharmacy.states import TOPICS, cancel_order
from tests.billing.builders import pay_bill, reloaded, run_outbox, sandbox
from tests.identity.builders import make_account, make_patient
from tests.pharmacy.order_builders import (
    HOME,
    make_pharmacy,
    make_shop,
    stock,
)
from tests.prescribing.builders import make_drug


async def _order(session, clock, shop, *, fulfilment="pickup", **changes):
    values = {
        "prescription_id": shop.prescription.id,
        "pharmacy_id": shop.pharmacy.id,
        "fulfilment": fulfilment,
        "risk_notice_confirmed": True,
        "delivery": HOME if fulfilment == "delivery" else None,
        **changes,
    }
    return await place_order(session, shop.buyer(clock), **values)


async def _stock_of(session, shop) -> PharmacyStock:
    row = await session.scalar(
        select(PharmacyStock)
        .where(PharmacyStock.pharmacy_id == shop.pharmacy.id)
        .execution_options(populate_existing=True)
    )
    return row


async def _rows(session) -> dict[str, int]:
    counted = (PharmacyOrder, Order, OutboxEvent)
    return {
        model.__tablename__: await session.scalar(select(func.count()).select_from(model))
        for model in counted
    }


async def _topics(session, order_id: int) -> list[str]:
    events = await session.scalars(
        select(OutboxEvent).where(OutboxEvent.topic.in_(TOPICS)).order_by(OutboxEvent.id)
    )
    return [
        e.topic
        for e in events
        if f'"order_id": {order_id}' in e.payload or f'"order_id":{order_id}' in e.payload
    ]


async def test_an_order_reserves_the_stock_and_bills_the_drugs(session, clock):
    shop = await make_shop(session, clock=clock)
    order = await _order(session, clock, shop, fulfilment="delivery")
    assert order.status == "created" and order.fulfilment == "delivery"
    # an order's number is told apart from its prescription's (RX…) at a glance
    assert order.number.startswith(f"PO{clock.today_local():%Y%m%d}") and len(order.number) == 20
    assert (await _stock_of(session, shop)).reserved == 2
    bill = await session.get(Order, order.billing_order_id)
    assert bill.expires_at == clock.now() + timedelta(minutes=HOLD_MINUTES)
    lines = (await session.scalars(select(OrderLine).where(OrderLine.order_id == bill.id))).all()
    assert [(line.kind, line.quantity, line.amount_fen) for line in lines] == [
        ("drug", 2, 5700),
        ("delivery", 1, 800),
    ]
    assert [line.drug_class for line in lines] == ["A", None]
    assert bill.total_fen == 6500
    assert await _topics(session, order.id) == ["pharmacy.order_created"]
    audit = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "pharmacy.order.created")
    )
    assert audit.patient_id == shop.patient.id


async def test_a_pickup_order_has_a_six_digit_code_and_no_delivery_fee(session, clock):
    shop = await make_shop(session, clock=clock)
    order = await _order(session, clock, shop, delivery=HOME)
    assert len(order.pickup_code) == 6 and order.pickup_code.isdigit()
    assert order.delivery_fee_fen == 0 and order.delivery_address is None


@pytest.mark.parametrize(
    ("status", "code"),
    [("rejected", "rule.R06"), ("pending_review", "rule.R06"), ("filled", "rule.R19")],
)
async def test_only_an_approved_unfilled_prescription_is_ordered(session, clock, status, code):
    shop = await make_shop(session, clock=clock)
    shop.prescription.status = status
    before = await _rows(session)
    with pytest.raises(AppError) as refused:
        await _order(session, clock, shop)
    assert refused.value.code == code
    assert await _rows(session) == before


async def test_an_expired_prescription_is_refused_after_its_last_shanghai_day(session, clock):
    shop = await make_shop(session, clock=clock)
    clock.advance(timedelta(hours=14, minutes=59))  # 23:59 in Shanghai on the day of issue
    await candidate_pharmacies(session, shop.buyer(clock), prescription_id=shop.prescription.id)
    clock.advance(timedelta(minutes=2))
    with pytest.raises(AppError) as refused:
        await _order(session, clock, shop)
    assert refused.value.code == "rule.R16"


async def test_another_accounts_prescription_is_not_found(session, clock):
    shop = await make_shop(session, clock=clock)
    other = await make_patient(
        session, account=await make_account(session, clock=clock), clock=clock
    )
    shop.patient = other
    with pytest.raises(NotFound):
        await _order(session, clock, shop)


async def test_the_risk_notice_and_a_verified_patient_are_required(session, clock):
    shop = await make_shop(session, clock=clock)
    with pytest.raises(AppError) as refused:
        await _order(session, clock, shop, risk_notice_confirmed=False)
    assert refused.value.code == "rule.R19"
    shop.patient.realname_status = "failed"  # a later check failed
    with pytest.raises(AppError) as refused:
        await _order(session, clock, shop)
    assert refused.value.code == "rule.R19"


async def test_ordering_more_than_the_stock_changes_nothing(session, clock):
    shop = await make_shop(session, clock=clock, on_hand=1)
    before = await _rows(session)
    with pytest.raises(AppError) as refused:
        await _order(session, clock, shop)
    assert refused.value.code == "pharmacy.out_of_stock"
    assert await _rows(session) == before
    assert (await _stock_of(session, shop)).reserved == 0


async def test_a_prescription_has_one_live_order(session, clock):
    shop = await make_shop(session, clock=clock)
    first = await _order(session, clock, shop)
    with pytest.raises(AppError) as refused:
        await _order(session, clock, shop)
    assert refused.value.code == "pharmacy.prescription_ordered"
    await cancel_order(session, shop.buyer(clock), order_id=first.id, reason="patient")
    second = await _order(session, clock, shop)
    assert second.status == "created"


async def test_cold_chain_drugs_are_delivered_only_by_a_cold_chain_pharmacy(session, clock):
    shop = await make_shop(session, clock=clock, cold_chain=True)
    with pytest.raises(AppError) as refused:
        await _order(session, clock, shop, fulfilment="delivery")
    assert refused.value.code == "pharmacy.cold_chain_required"
    cold = await make_pharmacy(
        session, clock=clock, institution_id=shop.practice.institution.id, cold_chain=True
    )
    await stock(session, clock=clock, pharmacy=cold, drug=shop.drug, price_fen=3000)
    order = await _order(session, clock, shop, fulfilment="delivery", pharmacy_id=cold.id)
    assert order.cold_chain and order.drugs_fen == 6000


async def test_candidates_show_prices_and_availability_best_first(session, clock):
    shop = await make_shop(session, clock=clock)
    empty = await make_pharmacy(
        session, clock=clock, institution_id=shop.practice.institution.id, name="合作药店"
    )
    other_drug = await make_drug(session, clock=clock)
    await stock(session, clock=clock, pharmacy=empty, drug=other_drug)
    _, found = await candidate_pharmacies(
        session, shop.buyer(clock), prescription_id=shop.prescription.id
    )
    assert [(c.pharmacy.id, c.all_in_stock, c.drugs_fen) for c in found] == [
        (shop.pharmacy.id, True, 5700),
        (empty.id, False, 0),
    ]


async def test_paying_then_cancelling_refunds_through_billing(session, session_factory, clock):
    shop = await make_shop(session, clock=clock)
    order = await _order(session, clock, shop)
    provider = sandbox(clock)
    await pay_bill(session, clock, provider, await session.get(Order, order.billing_order_id))
    await run_outbox(session_factory, clock, {"sandbox": provider})
    assert (await reloaded(session, PharmacyOrder, order.id)).status == "paid"
    await cancel_order(session, shop.buyer(clock), order_id=order.id, reason="patient")
    assert (await _stock_of(session, shop)).reserved == 0
    await run_outbox(session_factory, clock, {"sandbox": provider})
    assert (await reloaded(session, PharmacyOrder, order.id)).status == "refunded"
    bill = await reloaded(session, Order, order.billing_order_id)
    assert bill.status == "refunded" and bill.refunded_fen == bill.paid_fen
    assert await _topics(session, order.id) == [
        "pharmacy.order_created",
        "pharmacy.order_paid",
        "pharmacy.order_cancelled",
        "pharmacy.order_refunded",
    ]


async def test_an_unpaid_order_expires_with_its_bill_and_frees_the_stock(
    session, session_factory, clock
):
    shop = await make_shop(session, clock=clock)
    order = await _order(session, clock, shop)
    await run_outbox(session_factory, clock, {}, advance=timedelta(minutes=HOLD_MINUTES + 1))
    expired = await reloaded(session, PharmacyOrder, order.id)
    assert (expired.status, expired.cancel_reason) == ("cancelled", "unpaid")
    assert (await _stock_of(session, shop)).reserved == 0


async def test_cancelling_an_unpaid_order_cancels_its_bill(session, session_factory, clock):
    shop = await make_shop(session, clock=clock)
    order = await _order(session, clock, shop)
    await cancel_order(session, shop.buyer(clock), order_id=order.id, reason="patient")
    await run_outbox(session_factory, clock, {})
    assert (await reloaded(session, Order, order.billing_order_id)).status == "cancelled"
