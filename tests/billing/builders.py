"""Builders of billing for tests: a sandbox provider and insurance platform, bills, and running
the outbox.

All keyword-only; bills go through the real ``create_order`` acting as the system."""

from __future__ import annotations

import itertools
import random
import tempfile
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.billing.insurance.platform import SandboxInsurancePlatform
from ihospital.billing.ledger import balances, ledger_total
from ihospital.billing.models import Order, Payment, Refund
from ihospital.billing.notify import receive_notification
from ihospital.billing.orders import LineItem, create_order
from ihospital.billing.payments import start_payment
from ihospital.billing.providers.sandbox import SandboxProvider
from ihospital.billing.refunds import request_refund
from ihospital.core.clock import Clock, FrozenClock
from ihospital.core.context import Actor
from ihospital.directory.models import Institution
from ihospital.identity.models import Patient
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import BatchResult, drain, load_handlers
from tests.conftest import TEST_PAYMENT_KEY
from tests.directory.builders import make_institution
from tests.identity.builders import CIPHER, make_patient

_keys = itertools.count()
_base = random.randrange(10**9)

REGISTRATION = LineItem("registration", "appointment", "1", "挂号费 心血管内科", 5000)
DRUGS = LineItem("drug", "prescription_item", "7", "阿司匹林肠溶片", 1550, 2)
DELIVERY = LineItem("delivery", "delivery", "3", "配送费", 800)


def new_key(prefix: str = "test") -> str:
    return f"{prefix}-{_base}-{next(_keys)}"


_SANDBOX_DIR = tempfile.TemporaryDirectory(prefix="ihospital-sandbox-")


def sandbox_url() -> str:
    """A new, empty database for a sandbox's books (the file is made on its first use)."""
    return f"sqlite+aiosqlite:///{_SANDBOX_DIR.name}/{uuid.uuid4().hex}.db"


def sandbox(clock: Clock, *, database_url: str | None = None) -> SandboxProvider:
    """A sandbox provider with books of its own (or in ``database_url``, to share them)."""
    return SandboxProvider(TEST_PAYMENT_KEY, clock, database_url=database_url or sandbox_url())


def insurance_sandbox(
    *,
    database_url: str | None = None,
    latency_seconds: float = 0.0,
    timeout_seconds: float = 10.0,
) -> SandboxInsurancePlatform:
    """A sandbox insurance platform with books of its own (or in ``database_url``, to share
    them, as a restarted process or another process does)."""
    return SandboxInsurancePlatform(
        database_url=database_url or sandbox_url(),
        latency_seconds=latency_seconds,
        timeout_seconds=timeout_seconds,
    )


async def make_order(
    session: AsyncSession,
    *,
    clock: FrozenClock,
    patient: Patient | None = None,
    institution: Institution | None = None,
    lines: Sequence[LineItem] = (REGISTRATION, DRUGS, DELIVERY),
    hold_minutes: int = 15,
    idempotency_key: str | None = None,
) -> Order:
    """An unpaid bill (by default ¥89.00: a registration fee, two drugs and delivery)."""
    patient = patient or await make_patient(session, clock=clock)
    institution = institution or await make_institution(session, clock=clock)
    return await create_order(
        session,
        Actor.system(clock),
        patient_id=patient.id,
        institution_id=institution.id,
        lines=lines,
        hold_minutes=hold_minutes,
        idempotency_key=idempotency_key or new_key("order"),
    )


def payer(clock: Clock, order: Order) -> Actor:
    """The account that pays ``order``, acting as a patient."""
    return Actor(role="patient", clock=clock, account_id=order.account_id)


async def start_paying(
    session: AsyncSession,
    clock: FrozenClock,
    provider: SandboxProvider,
    order: Order,
    *,
    key: str | None = None,
) -> Payment:
    """The payer starts paying ``order`` through the sandbox (idempotency ``key``)."""
    return await start_payment(
        session,
        payer(clock, order),
        order_id=order.id,
        channel=provider.channel,
        idempotency_key=key or new_key("pay"),
        providers={provider.channel: provider},
    )


def prepay_of(payment: Payment) -> str:
    """The sandbox's prepay id of a payment (the end of its pay page's address)."""
    return payment.pay_url.rsplit("/", 1)[1]


async def deliver(
    session: AsyncSession, clock: FrozenClock, provider: SandboxProvider, body: str
) -> str:
    """The sandbox's notification ``body`` arrives, signed now; answers what it did."""
    return await receive_notification(
        session,
        Actor(role="anonymous", clock=clock),
        channel=provider.channel,
        headers=provider.sign(body, now=clock.now()),
        body=body.encode(),
        providers={provider.channel: provider},
    )


async def pay_bill(
    session: AsyncSession, clock: FrozenClock, provider: SandboxProvider, order: Order
) -> Payment:
    """Pay ``order`` through the sandbox: start the payment, pay at the sandbox and deliver its
    notification; answers the payment."""
    payment = await start_paying(session, clock, provider, order)
    [delivery] = await provider.pay(prepay_of(payment))
    await deliver(session, clock, provider, delivery.body)
    return payment


async def refund_bill(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    amount_fen: int,
    platform: SandboxInsurancePlatform | None = None,
    idempotency_key: str | None = None,
    line_id: int | None = None,
) -> Refund:
    """``request_refund`` by ``actor`` (institution staff), with the tests' cipher and a sandbox
    insurance platform."""
    return await request_refund(
        session,
        actor,
        order_id=order_id,
        amount_fen=amount_fen,
        line_id=line_id,
        idempotency_key=idempotency_key or new_key("refund"),
        platform=platform or insurance_sandbox(),
        cipher=CIPHER,
    )


async def run_outbox(
    factory: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    providers: dict,
    *,
    advance: timedelta = timedelta(0),
    platform: SandboxInsurancePlatform | None = None,
) -> BatchResult:
    """Move the clock on, then handle every event due (the worker, with these providers and
    insurance platform)."""
    load_handlers()
    clock.advance(advance)
    services = {
        "payment_providers": providers,
        "insurance_platform": platform or insurance_sandbox(),
        "cipher": CIPHER,
    }
    return await drain(factory, clock, limit=1000, services=services)


async def reloaded(session: AsyncSession, model: type, row_id: int):  # noqa: ANN201
    return await session.get(model, row_id, populate_existing=True)


async def payments_of(session: AsyncSession, order: Order) -> list[Payment]:
    rows = await session.scalars(
        select(Payment)
        .where(Payment.order_id == order.id)
        .order_by(Payment.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def dead_events(session: AsyncSession) -> list[OutboxEvent]:
    rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.status == "dead"))
    return list(rows.all())


async def assert_ledger_sound(session: AsyncSession) -> dict:
    """The ledger sums to zero; answers the balances for further checks."""
    assert await ledger_total(session) == 0
    return {
        (account.kind, account.ref): amount for account, amount in (await balances(session)).items()
    }
