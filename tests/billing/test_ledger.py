"""The ledger: balanced, append-only, and sound under any sequence of payments and refunds."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from ihospital.billing.expiry import expire_when_due
from ihospital.billing.ledger import (
    LedgerAccount,
    UnbalancedEntry,
    balance,
    clearing_account,
    ledger_total,
    patient_account,
    post,
)
from ihospital.billing.models import JournalEntry, Order, OrderLine, Payment, Posting, Refund
from ihospital.billing.notify import receive_notification
from ihospital.billing.payments import apply_trade, start_payment
from ihospital.billing.providers.base import ProviderDeclined
from ihospital.billing.refunds import execute_refund, request_refund
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import AppError
from tests.billing.builders import insurance_sandbox, make_order, payer, sandbox, sandbox_url
from tests.conftest import BACKEND, START
from tests.directory.builders import make_institution, make_staff
from tests.identity.builders import CIPHER, make_patient


async def test_an_unbalanced_or_one_sided_entry_is_refused(session, clock):
    actor = Actor.system(clock)
    with pytest.raises(UnbalancedEntry):
        await post(
            session,
            actor,
            kind="x",
            postings=[(clearing_account("sandbox"), 100), (patient_account(1), -99)],
        )
    with pytest.raises(UnbalancedEntry):
        await post(session, actor, kind="x", postings=[(clearing_account("sandbox"), 0)])
    with pytest.raises(ValueError, match="unknown ledger account kind"):
        LedgerAccount("cash_drawer", "1")
    assert await session.scalar(select(JournalEntry.id)) is None


async def test_postings_to_one_account_are_merged_and_balances_are_summed(session, clock):
    actor = Actor.system(clock)
    await post(
        session,
        actor,
        kind="x",
        postings=[
            (clearing_account("sandbox"), 60),
            (clearing_account("sandbox"), 40),
            (patient_account(9), -100),
        ],
    )
    assert await balance(session, clearing_account("sandbox")) == 100
    assert await balance(session, patient_account(9)) == -100
    assert await ledger_total(session) == 0


async def test_journal_entries_and_postings_cannot_be_changed_or_deleted(session, clock):
    actor = Actor.system(clock)
    entry = await post(
        session,
        actor,
        kind="x",
        postings=[(clearing_account("sandbox"), 5), (patient_account(1), -5)],
    )
    for statement in (
        update(Posting).where(Posting.entry_id == entry.id).values(amount_fen=6),
        update(JournalEntry).where(JournalEntry.id == entry.id).values(memo="changed"),
        text("DELETE FROM billing_postings"),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(statement)


@pytest.mark.skipif(BACKEND != "postgresql", reason="the deferred balance check is PostgreSQL's")
async def test_postgresql_refuses_to_commit_an_unbalanced_entry(databases):
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    try:
        with pytest.raises(IntegrityError, match="does not balance"):
            async with factory() as session, session.begin():
                session.add(JournalEntry(kind="forged", memo="", created_at=START))
                await session.flush()
                entry_id = await session.scalar(select(JournalEntry.id))
                session.add(
                    Posting(
                        entry_id=entry_id,
                        account_kind="clearing",
                        account_ref="sandbox",
                        amount_fen=100,
                    )
                )
        async with factory() as session:
            assert await session.scalar(select(JournalEntry.id)) is None
    finally:
        await engine.dispose()


_REFUND = st.tuples(st.just("refund"), st.integers(-100, 9000), st.sampled_from([None, 0, 1]))
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.integers(0, 2)),
        st.tuples(st.just("pay"), st.integers(0, 2)),
        st.tuples(st.just("pay and deliver"), st.integers(0, 2)),
        st.tuples(st.just("deliver"), st.integers(0, 5)),
        st.tuples(st.just("deliver"), st.integers(0, 5)),
        st.tuples(st.just("query"), st.integers(0, 2)),
        _REFUND,
        _REFUND,
        _REFUND,
        st.tuples(st.just("payout"), st.booleans()),
        st.tuples(st.just("expire"), st.just(0)),
    ),
    min_size=1,
    max_size=30,
)


@pytest.fixture
def shared_books_url() -> str:
    """One database for the sandboxes' books in every example of a test: trade, refund and
    settlement numbers are random, so the examples do not meet there."""
    return sandbox_url()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=OPERATIONS)
async def test_ledger_stays_balanced_and_refunds_never_exceed_payments(
    session, shared_books_url, operations
):
    """Any sequence of payments, payer actions, duplicated and reordered notifications,
    queries, refunds (too large, negative, per line), payouts that fail, and expiry."""
    parties = _PARTIES.get(id(session)) or await _parties(session)
    async with session.begin_nested() as example:
        world = await _World.build(session, *parties, books_url=shared_books_url)
        for operation in operations:
            try:
                async with session.begin_nested():
                    await world.apply(operation)
            except (AppError, ProviderDeclined):
                pass  # refused, and rolled back to before the operation, as a request would be
            await world.check()
        await example.rollback()


_PARTIES: dict[int, tuple] = {}


async def _parties(session):
    """The institution, 就诊人 and admin every example of one test run shares."""
    clock = FrozenClock(START)
    institution = await make_institution(session, clock=clock)
    patient = await make_patient(session, clock=clock)
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    _PARTIES[id(session)] = (institution, patient, admin)
    return _PARTIES[id(session)]


class _World:
    @classmethod
    async def build(cls, session, institution, patient, admin, *, books_url):
        world = cls()
        world.session = session
        world.clock = FrozenClock(START)
        world.provider = sandbox(world.clock, database_url=books_url)
        world.platform = insurance_sandbox(database_url=books_url)
        world.providers = {"sandbox": world.provider}
        world.order = await make_order(
            session, clock=world.clock, patient=patient, institution=institution
        )
        world.admin = Actor(
            role="institution_admin",
            clock=world.clock,
            account_id=admin.id,
            institution_id=institution.id,
        )
        world.payments = {}
        world.notifications = []
        world.refund_keys = 0
        return world

    async def apply(self, operation):
        kind, value, *rest = operation
        session, order = self.session, self.order
        if kind == "start" or (kind.startswith("pay") and value not in self.payments):
            payment = await start_payment(
                session,
                payer(self.clock, order),
                order_id=order.id,
                channel="sandbox",
                idempotency_key=f"key-{value}",
                providers=self.providers,
            )
            self.payments[value] = payment
        if kind.startswith("pay"):
            prepay = self.payments[value].pay_url.rsplit("/", 1)[1]
            deliveries = await self.provider.pay(prepay, plan="twice")
            self.notifications.extend(delivery.body for delivery in deliveries)
        if kind.endswith("deliver") and self.notifications:
            body = self.notifications[value % len(self.notifications)]
            await receive_notification(
                session,
                Actor(role="anonymous", clock=self.clock),
                channel="sandbox",
                headers=self.provider.sign(body, now=self.clock.now()),
                body=body.encode(),
                providers=self.providers,
            )
        elif kind == "query" and value in self.payments:
            payment = self.payments[value]
            trade = await self.provider.query(out_trade_no=payment.out_trade_no)
            await apply_trade(session, Actor.system(self.clock), payment_id=payment.id, trade=trade)
        elif kind == "refund":
            lines = (await self._lines()) if rest[0] is not None else []
            self.refund_keys += 1
            await request_refund(
                session,
                self.admin,
                order_id=order.id,
                amount_fen=value,
                line_id=lines[rest[0]] if lines else None,
                idempotency_key=f"refund-{self.refund_keys}",
            )
        elif kind == "payout":
            if not value:
                self.provider.fail_next("refund", "declined")
            refunds = await session.scalars(select(Refund.id).where(Refund.status == "pending"))
            for refund_id in refunds.all():
                await execute_refund(
                    session, Actor.system(self.clock), refund_id=refund_id, providers=self.providers
                )
        elif kind == "expire":
            self.clock.advance(timedelta(minutes=16))
            await expire_when_due(
                session,
                Actor.system(self.clock),
                order_id=order.id,
                providers=self.providers,
                platform=self.platform,
                cipher=CIPHER,
            )

    async def _lines(self):
        rows = await self.session.scalars(
            select(OrderLine.id).where(OrderLine.order_id == self.order.id).order_by(OrderLine.id)
        )
        return list(rows.all())

    async def check(self):
        session = self.session
        assert await ledger_total(session) == 0
        order = await session.get(Order, self.order.id, populate_existing=True)
        payments = (
            await session.scalars(
                select(Payment)
                .where(Payment.order_id == order.id)
                .execution_options(populate_existing=True)
            )
        ).all()
        refunds = (
            await session.scalars(
                select(Refund)
                .where(Refund.order_id == order.id)
                .execution_options(populate_existing=True)
            )
        ).all()
        succeeded = [p for p in payments if p.status == "succeeded"]
        for payment in payments:
            refunded = sum(r.amount_fen for r in refunds if r.payment_id == payment.id)
            assert refunded == payment.refunded_fen <= payment.amount_fen
            assert refunded == 0 or payment.status == "succeeded"
        assert len([p for p in succeeded if p.id == order.payment_id]) == (
            1 if order.paid_fen else 0
        )
        assert order.refunded_fen <= order.paid_fen
        paid_out = sum(r.amount_fen for r in refunds if r.status == "succeeded")
        owed = sum(r.amount_fen for r in refunds if r.status != "succeeded")
        assert await balance(session, clearing_account("sandbox")) == (
            sum(p.amount_fen for p in succeeded) - paid_out
        )
        assert await balance(session, LedgerAccount("refunds_payable", "sandbox")) == -owed
        assert await balance(session, patient_account(order.patient_id)) == 0
        revenue = sum(
            [
                await balance(session, LedgerAccount(kind, str(order.institution_id)))
                for kind in ("institution_revenue", "pharmacy_revenue")
            ]
        )
        assert revenue == -(order.paid_fen - order.refunded_fen)
        for payment in succeeded:
            refunded = await self.provider.refunded_fen(out_trade_no=payment.out_trade_no)
            assert refunded <= payment.amount_fen
