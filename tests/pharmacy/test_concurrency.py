"""The last packages on a real, committed database: many patients ordering them at the same
moment get exactly as many orders as there are packages, and the stock is never oversold; two
simultaneous orders of one prescription give one live order (R19)."""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace

from sqlalchemy import func, select

from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import AppError
from ihospital.pharmacy.models import PharmacyOrder, PharmacyStock
from ihospital.pharmacy.orders import place_order
from ihospital.prescribing.models import Prescription
from tests.conftest import START
from tests.identity.builders import make_account, make_patient
from tests.pharmacy.order_builders import make_shop
from tests.prescribing.builders import Line, make_prescription

BUYERS = 24
LAST_PACKAGES = 5


async def _order(factory, clock, prescription: Prescription, account_id: int, pharmacy_id: int):
    try:
        async with factory() as session, session.begin():
            await place_order(
                session,
                Actor(role="patient", clock=clock, account_id=account_id),
                prescription_id=prescription.id,
                pharmacy_id=pharmacy_id,
                fulfilment="pickup",
                risk_notice_confirmed=True,
            )
    except AppError as refused:
        return refused.code
    return "ordered"


async def test_many_orders_for_the_last_packages_never_oversell(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        async with factory() as session, session.begin():
            shop = await make_shop(session, clock=clock, on_hand=LAST_PACKAGES)
            buyers = []
            for index in range(BUYERS):
                account = await make_account(session, clock=clock)
                patient = await make_patient(session, account=account, clock=clock)
                # the same visit stands for each patient's own: only the items matter here
                visit = SimpleNamespace(
                    id=shop.prescription.consultation_id,
                    institution_id=shop.prescription.institution_id,
                    patient_id=patient.id,
                    patient_name=f"患者{index}",
                    patient_sex="female",
                    patient_age=40,
                )
                prescription = await make_prescription(
                    session,
                    clock=clock,
                    doctor=shop.practice.doctor,
                    consultation=visit,
                    lines=[Line(shop.drug, quantity=1)],
                    status="approved",
                )
                buyers.append((prescription, account.id))
        outcomes = await asyncio.wait_for(
            asyncio.gather(
                *(_order(factory, clock, rx, account, shop.pharmacy.id) for rx, account in buyers)
            ),
            300,
        )
        assert Counter(outcomes) == {
            "ordered": LAST_PACKAGES,
            "pharmacy.out_of_stock": BUYERS - LAST_PACKAGES,
        }
        async with factory() as session:
            row = await session.scalar(select(PharmacyStock))
            orders = await session.scalar(select(func.count()).select_from(PharmacyOrder))
        assert (row.on_hand, row.reserved, orders) == (LAST_PACKAGES, LAST_PACKAGES, LAST_PACKAGES)
    finally:
        await engine.dispose()


async def test_two_simultaneous_orders_of_one_prescription_give_one(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    try:
        async with factory() as session, session.begin():
            shop = await make_shop(session, clock=clock)
        account_id = shop.patient.account_id
        outcomes = await asyncio.gather(
            *(_order(factory, clock, shop.prescription, account_id, shop.pharmacy.id) for _ in "ab")
        )
        assert sorted(outcomes) == ["ordered", "pharmacy.prescription_ordered"]
        async with factory() as session:
            row = await session.scalar(select(PharmacyStock))
        assert row.reserved == 2
    finally:
        await engine.dispose()
