"""Refunds racing each other on a real, committed database never exceed the payment."""

import asyncio

from sqlalchemy import select

from ihospital.billing.models import Order, Refund
from ihospital.billing.payments import apply_trade, start_payment
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
