"""Builders of the order delivery tests: a paid order, a delivery order bought through the
payment sandbox, dispensed and shipped with the sandbox carrier following a script, and the
worker run with the carriers and billing's services."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.billing.models import Order
from ihospital.billing.providers.sandbox import SandboxProvider
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import BatchResult, drain, load_handlers
from ihospital.pharmacy.carriers import Carriers
from ihospital.pharmacy.carriers.sandbox import Script
from ihospital.pharmacy.delivery import ship_order
from ihospital.pharmacy.models import PharmacyOrder
from ihospital.pharmacy.orders import place_order
from ihospital.pharmacy.service import dispense_order
from ihospital.pharmacy.states import confirm_paid
from tests.billing.builders import insurance_sandbox, pay_bill
from tests.identity.builders import CIPHER
from tests.pharmacy.builders import END_OF_SCRIPT, sandbox_of
from tests.pharmacy.order_builders import HOME, Shop, make_shop


async def paid_order(
    session: AsyncSession, clock: FrozenClock, shop: Shop, *, fulfilment: str = "pickup"
) -> PharmacyOrder:
    """The shop's prescription ordered and its bill confirmed paid."""
    order = await place_order(
        session,
        shop.buyer(clock),
        prescription_id=shop.prescription.id,
        pharmacy_id=shop.pharmacy.id,
        fulfilment=fulfilment,
        risk_notice_confirmed=True,
        delivery=HOME,
    )
    await confirm_paid(
        session,
        Actor.system(clock),
        order_id=order.id,
        billing_order_id=order.billing_order_id,
    )
    return order


async def delivery_shop(session: AsyncSession, clock: FrozenClock, *, cold_chain: bool) -> Shop:
    """A shop whose pharmacy keeps the cold chain when the drug needs it."""
    shop = await make_shop(session, clock=clock, cold_chain=cold_chain)
    shop.pharmacy.cold_chain = cold_chain
    await session.flush()
    return shop


@dataclass
class Outside:
    """The parties outside: the carriers and the payment sandbox."""

    carriers: Carriers
    payments: SandboxProvider


async def run_worker(
    factory: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    outside: Outside,
    *,
    advance: timedelta = END_OF_SCRIPT,
) -> BatchResult:
    """Move the clock on, then handle every event due, as the worker does."""
    load_handlers()
    clock.advance(advance)
    services = {
        "carriers": outside.carriers,
        "payment_providers": {"sandbox": outside.payments},
        "insurance_platform": insurance_sandbox(),
        "cipher": CIPHER,
    }
    return await drain(factory, clock, limit=1000, services=services)


async def dispensed_delivery(
    session: AsyncSession,
    factory: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    outside: Outside,
    *,
    cold_chain: bool = False,
) -> tuple[Shop, PharmacyOrder]:
    """A delivery order paid through the payment sandbox and dispensed."""
    shop = await delivery_shop(session, clock, cold_chain=cold_chain)
    order = await place_order(
        session,
        shop.buyer(clock),
        prescription_id=shop.prescription.id,
        pharmacy_id=shop.pharmacy.id,
        fulfilment="delivery",
        risk_notice_confirmed=True,
        delivery=HOME,
    )
    bill = await session.get(Order, order.billing_order_id)
    await pay_bill(session, clock, outside.payments, bill)
    await run_worker(factory, clock, outside, advance=timedelta(0))
    await session.get(PharmacyOrder, order.id, populate_existing=True)  # the worker paid it
    await dispense_order(session, shop.dispenser(clock), order_id=order.id)
    return shop, order


async def shipped_delivery(
    session: AsyncSession,
    factory: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    outside: Outside,
    *,
    cold_chain: bool = False,
    script: Script = "prompt",
    excursion_celsius: Decimal | None = None,
) -> tuple[Shop, PharmacyOrder]:
    """A delivery order dispensed and shipped by the pharmacist; the carrier follows
    ``script``."""
    shop, order = await dispensed_delivery(session, factory, clock, outside, cold_chain=cold_chain)
    sandbox_of(outside.carriers, cold_chain=cold_chain).script_next(
        script, excursion_celsius=excursion_celsius
    )
    await ship_order(session, shop.dispenser(clock), order_id=order.id, carriers=outside.carriers)
    await session.flush()
    return shop, order


async def order_topics(session: AsyncSession, order_id: int) -> list[str]:
    """The ``pharmacy.order_*`` events of the order, in order."""
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.topic.like("pharmacy.order_%"))
        .order_by(OutboxEvent.id)
    )
    return [row.topic for row in rows.all() if json.loads(row.payload).get("order_id") == order_id]
