"""Builders of finance tests: two institutions with their admins and a platform admin, and
the books the tests read.

The books: on 2026-11-23 (Beijing) bill A of *here* and bill B of *there* are paid (¥89.00
each) through the sandbox; at 00:30 on 2026-11-24 Beijing time (still 11-23 in UTC) ¥8.00 of A
is refunded and bill C of *there* is paid. The mismatched day adds, at the provider, changed
amounts of A and B and four trades we never heard of, numbered like spreadsheet formulas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.models import Payment
from ihospital.billing.providers.sandbox import SandboxProvider
from ihospital.billing.refunds import execute_refund
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.directory.models import Institution
from ihospital.identity.models import Account
from tests.billing.builders import make_order, pay_bill, refund_bill
from tests.directory.builders import make_institution
from tests.identity.builders import make_account

DAY = date(2026, 11, 23)
NEXT_DAY = date(2026, 11, 24)
STRAY = ("=SUM(A1:A9)", "+86-1", "-2+3", "@cmd")


@dataclass
class World:
    here: Institution
    there: Institution
    admin_here: Account
    admin_there: Account
    platform: Account
    clock: FrozenClock

    def actor(self, account: Account) -> Actor:
        return Actor(
            role=account.role,
            clock=self.clock,
            account_id=account.id,
            institution_id=account.institution_id,
        )


async def make_world(session: AsyncSession, *, clock: FrozenClock) -> World:
    """Two institutions, *here* in 武汉 (so its bills can be settled with medical insurance)
    and *there*, an institution admin of each and a platform admin."""
    here = await make_institution(
        session, clock=clock, region_code="420102", region_name="武汉市江岸区"
    )
    there = await make_institution(session, clock=clock)
    return World(
        here,
        there,
        await make_account(session, role="institution_admin", institution_id=here.id, clock=clock),
        await make_account(session, role="institution_admin", institution_id=there.id, clock=clock),
        await make_account(session, role="platform_admin", clock=clock),
        clock,
    )


async def paid(
    session: AsyncSession, clock: FrozenClock, provider: SandboxProvider, institution: Institution
) -> Payment:
    """A new ¥89.00 bill of ``institution``, paid through the sandbox ``provider``."""
    order = await make_order(session, clock=clock, institution=institution)
    return await pay_bill(session, clock, provider, order)


async def make_books(
    session: AsyncSession, clock: FrozenClock, provider: SandboxProvider, world: World
) -> tuple[Payment, Payment, Payment]:
    """The books of the module's docstring; answers the payments of A, B and C."""
    a = await paid(session, clock, provider, world.here)
    b = await paid(session, clock, provider, world.there)
    clock.advance(timedelta(hours=15, minutes=30))  # 2026-11-24 00:30 in Beijing
    refund = await refund_bill(
        session, world.actor(world.admin_here), order_id=a.order_id, amount_fen=800
    )
    await execute_refund(
        session, Actor.system(clock), refund_id=refund.id, providers={"sandbox": provider}
    )
    c = await paid(session, clock, provider, world.there)
    return a, b, c


async def make_mismatched_day(
    session: AsyncSession, clock: FrozenClock, provider: SandboxProvider, world: World
) -> tuple[Payment, Payment]:
    """The books, then at the provider: A and B changed and four trades we never heard of."""
    a, b, _ = await make_books(session, clock, provider, world)
    clock.advance(timedelta(hours=-15, minutes=-30))
    for number in STRAY:
        stray = await provider.create(
            out_trade_no=number, amount_fen=100, description="?", expires_at=clock.now()
        )
        await provider.pay(stray.prepay_id)
    clock.advance(timedelta(hours=15, minutes=30))
    await provider.tamper(a.out_trade_no, amount_fen=8800)
    await provider.tamper(b.out_trade_no, amount_fen=8700)
    return a, b
