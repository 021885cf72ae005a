"""Handing the drugs over: dispensing fills the prescription once (R19) and takes the stock,
pick-ups need the patient's code with limited tries."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ihospital.errors import AppError, Locked, NotFound
from ihospital.pharmacy.models import PharmacyOrder, PharmacyStock
from ihospital.pharmacy.orders import place_order
from ihospital.pharmacy.service import (
    MAX_PICKUP_ATTEMPTS,
    dispense_order,
    get_order,
    hand_over,
    orders_to_handle,
    renew_pickup_code,
)
from ihospital.pharmacy.states import cancel_order
from ihospital.prescribing.models import Prescription
from tests.billing.builders import reloaded
from tests.pharmacy.delivery_builders import paid_order
from tests.pharmacy.order_builders import make_shop


async def _stock(session, shop) -> tuple[int, int]:
    row = await session.scalar(
        select(PharmacyStock)
        .where(PharmacyStock.pharmacy_id == shop.pharmacy.id)
        .execution_options(populate_existing=True)
    )
    return row.on_hand, row.reserved


async def test_dispensing_takes_the_stock_and_fills_the_prescription_once(session, clock):
    shop = await make_shop(session, clock=clock)
    order = await paid_order(session, clock, shop)
    assert [o.id for o in await orders_to_handle(session, shop.dispenser(clock))] == [order.id]
    await dispense_order(session, shop.dispenser(clock), order_id=order.id)
    assert await _stock(session, shop) == (8, 0)
    prescription = await reloaded(session, Prescription, shop.prescription.id)
    assert prescription.status == "filled" and prescription.filled_at == clock.now()
    with pytest.raises(AppError) as again:
        await dispense_order(session, shop.dispenser(clock), order_id=order.id)
    assert again.value.code == "pharmacy.order_state"
    with pytest.raises(AppError) as cancelled:
        await cancel_order(session, shop.buyer(clock), order_id=order.id, reason="patient")
    assert cancelled.value.code == "pharmacy.order_state"


async def test_an_unpaid_order_is_not_dispensed(session, clock):
    shop = await make_shop(session, clock=clock)
    order = await place_order(
        session,
        shop.buyer(clock),
        prescription_id=shop.prescription.id,
        pharmacy_id=shop.pharmacy.id,
        fulfilment="pickup",
        risk_notice_confirmed=True,
    )
    with pytest.raises(AppError) as refused:
        await dispense_order(session, shop.dispenser(clock), order_id=order.id)
    assert refused.value.code == "pharmacy.order_state"
    assert await _stock(session, shop) == (10, 2)


async def test_the_window_hands_over_only_against_the_right_code(session, clock):
    shop = await make_shop(session, clock=clock)
    order = await paid_order(session, clock, shop)
    staff = shop.dispenser(clock)
    await dispense_order(session, staff, order_id=order.id)
    wrong = "000000" if order.pickup_code != "000000" else "111111"
    with pytest.raises(AppError) as refused:
        await hand_over(session, staff, order_id=order.id, code=wrong)
    assert refused.value.code == "pharmacy.pickup_code_wrong"
    assert refused.value.fields["attempts_left"] == MAX_PICKUP_ATTEMPTS - 1
    handed = await hand_over(session, staff, order_id=order.id, code=order.pickup_code)
    assert handed.status == "picked_up" and handed.picked_up_at == clock.now()


async def test_too_many_wrong_codes_lock_the_window_until_a_new_code(session, clock):
    shop = await make_shop(session, clock=clock)
    order = await paid_order(session, clock, shop)
    staff = shop.dispenser(clock)
    await dispense_order(session, staff, order_id=order.id)
    wrong = "000000" if order.pickup_code != "000000" else "111111"
    for _ in range(MAX_PICKUP_ATTEMPTS - 1):
        with pytest.raises(AppError):
            await hand_over(session, staff, order_id=order.id, code=wrong)
    with pytest.raises(Locked):
        await hand_over(session, staff, order_id=order.id, code=wrong)
    with pytest.raises(Locked):
        await hand_over(session, staff, order_id=order.id, code=order.pickup_code)
    renewed = await renew_pickup_code(session, shop.buyer(clock), order_id=order.id)
    handed = await hand_over(session, staff, order_id=order.id, code=renewed.pickup_code)
    assert handed.status == "picked_up"


async def test_staff_of_another_institution_and_other_accounts_see_nothing(session, clock):
    shop = await make_shop(session, clock=clock)
    other = await make_shop(session, clock=clock)
    order = await paid_order(session, clock, shop)
    for stranger in (other.dispenser(clock), other.buyer(clock)):
        with pytest.raises(NotFound):
            await get_order(session, stranger, order_id=order.id)
    with pytest.raises(NotFound):
        await dispense_order(session, other.dispenser(clock), order_id=order.id)
    with pytest.raises(NotFound):  # the patient cannot dispense their own order
        await dispense_order(session, shop.buyer(clock), order_id=order.id)
    assert (await reloaded(session, PharmacyOrder, order.id)).status == "paid"
    assert await orders_to_handle(session, other.dispenser(clock)) == []
