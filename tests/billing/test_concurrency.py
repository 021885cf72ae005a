"""Races on a real, committed database: refunds never exceed the payment; reconciliations of
one day leave one run."""

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from ihospital.billing.models import Order, Refund
from ihospital.billing.payments import apply_trade, start_payment
from ihospital.billing.reconciliation import reconcile
from ihospital.billing.reconciliation_models import ReconciliationRun
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import Conflict
from tests.billing.builders import make_order, new_key, payer, refund_bill, sandbox
from tests.conftest import START
from tests.directory.builders import make_institution, make_staff


async def test_concurrent_refunds_of_one_payment_never_exceed_it(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    provider = sandbox(clock)
    try:
        async with factory() as session, session.begin():
            institution = await make_institution(session, clock=clock)
            admin = await make_staff(
                session, clock=clock, institution=institution, role="institution_admin"
            )
            order = await make_order(session, clock=clock, institution=institution)
            payment = await start_payment(
                session,
                payer(clock, order),
                order_id=order.id,
                channel="sandbox",
                idempotency_key=new_key(),
                providers={"sandbox": provider},
            )
            await provider.pay(payment.pay_url.rsplit("/", 1)[1])
            trade = await provider.query(out_trade_no=payment.out_trade_no)
            await apply_trade(session, Actor.system(clock), payment_id=payment.id, trade=trade)
        actor = Actor(
            role="institution_admin",
            clock=clock,
            account_id=admin.id,
            institution_id=institution.id,
        )

        async def refund(key: str) -> str:
            try:
                async with factory() as session, session.begin():
                    await refund_bill(
                        session, actor, order_id=order.id, amount_fen=6000, idempotency_key=key
                    )
            except Conflict as refused:
                return refused.code
            return "refunded"

        outcomes = await asyncio.wait_for(asyncio.gather(refund("a"), refund("b")), 60)
        assert sorted(outcomes) == ["billing.refund_exceeds_payment", "refunded"]
        async with factory() as session:
            refunds = (await session.scalars(select(Refund))).all()
            order = await session.get(Order, order.id)
        assert [refund.amount_fen for refund in refunds] == [6000]
        assert order.refunded_fen == 6000
    finally:
        await engine.dispose()


async def test_two_first_runs_of_one_day_leave_one_run_and_no_server_error(databases):
    """The daily job and a manual re-run reconciling a new day at the same moment: one writes
    the run; the other replaces it after, or is told the day is being reconciled."""
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = FrozenClock(START)
    provider = _Together(sandbox(clock))
    day = START.date() - timedelta(days=1)
    try:

        async def run() -> str:
            try:
                async with factory() as session, session.begin():
                    await reconcile(
                        session,
                        Actor.system(clock),
                        day=day,
                        channel="sandbox",
                        providers={"sandbox": provider},
                    )
            except Conflict as refused:
                return refused.code
            return "ran"

        outcomes = await asyncio.wait_for(asyncio.gather(run(), run()), 60)
        assert set(outcomes) <= {"ran", "billing.reconciliation_running"}
        assert "ran" in outcomes
        async with factory() as session:
            runs = await session.scalar(select(func.count()).select_from(ReconciliationRun))
        assert runs == 1
    finally:
        await engine.dispose()


class _Together:
    """The sandbox provider, but two downloads of a statement return at the same moment, so
    both reconciliations find no run of the day yet."""

    channel = "sandbox"

    def __init__(self, provider) -> None:
        self.provider = provider
        self.barrier = asyncio.Barrier(2)

    async def download_statement(self, *, day):
        statement = await self.provider.download_statement(day=day)
        await self.barrier.wait()
        return statement
