"""Builders of the pharmacy delivery tests: carriers with books of their own, a shipment, the
outbox run as the worker runs it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import BatchResult, drain, load_handlers
from ihospital.pharmacy.carriers import SANDBOX, SANDBOX_COLD_CHAIN, Carriers, make_carriers
from ihospital.pharmacy.carriers.base import Address, Parcel
from ihospital.pharmacy.carriers.sandbox import SandboxCarrier, Script
from ihospital.pharmacy.shipment_models import Shipment
from ihospital.pharmacy.shipments import create_shipment
from tests.conftest import make_settings

SENDER = Address("武汉协和医院药房", "02785726114", "湖北省", "武汉市", "江汉区", "解放大道1277号")
RECIPIENT = Address("王小明", "13800138000", "湖北省", "武汉市", "洪山区", "珞喻路1037号")
PARCELS = (Parcel("P1", 350, "药品"),)
END_OF_SCRIPT = timedelta(hours=3)  # every callback of a script is due by then
_references = count(1)


def new_reference() -> str:
    return f"PO-TEST-{next(_references):06d}"


def carriers_for(tmp_path, clock: FrozenClock, books_url: str) -> Carriers:  # noqa: ANN001
    return make_carriers(make_settings(tmp_path, sandbox_database_url=books_url), clock)


def sandbox_of(carriers: Carriers, *, cold_chain: bool) -> SandboxCarrier:
    carrier = carriers.by_name[SANDBOX_COLD_CHAIN if cold_chain else SANDBOX]
    assert isinstance(carrier, SandboxCarrier)
    return carrier


def pharmacist(clock: FrozenClock, account_id: int, institution_id: int) -> Actor:
    return Actor(
        role="pharmacist", clock=clock, account_id=account_id, institution_id=institution_id
    )


async def ship(
    session: AsyncSession,
    carriers: Carriers,
    *,
    clock: FrozenClock,
    institution_id: int,
    cold_chain: bool = False,
    script: Script = "prompt",
    excursion_celsius: Decimal | None = None,
    order_reference: str | None = None,
) -> Shipment:
    """A shipment booked by the system for a new order, following ``script``."""
    sandbox_of(carriers, cold_chain=cold_chain).script_next(
        script, excursion_celsius=excursion_celsius
    )
    return await create_shipment(
        session,
        Actor.system(clock),
        institution_id=institution_id,
        order_reference=order_reference or new_reference(),
        sender=SENDER,
        recipient=RECIPIENT,
        cold_chain=cold_chain,
        parcels=PARCELS,
        carriers=carriers,
    )


async def run_outbox(
    factory: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    carriers: Carriers,
    *,
    advance: timedelta = END_OF_SCRIPT,
) -> BatchResult:
    """Move the clock on, then handle every event due, as the worker does."""
    load_handlers()
    clock.advance(advance)
    return await drain(factory, clock, limit=1000, services={"carriers": carriers})


async def callbacks_of(session: AsyncSession) -> list[OutboxEvent]:
    """The sandbox's pending callbacks, in the order they are due."""
    rows = await session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.topic == "pharmacy.carrier_callback")
        .order_by(OutboxEvent.available_at, OutboxEvent.id)
    )
    return list(rows.all())
