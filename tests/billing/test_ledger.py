"""The ledger: balanced, append-only, and sound under any sequence of payments and refunds."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from ihospital.billing.checkout import Choice, confirm_checkout
from ihospital.billing.expiry import expire_when_due
from ihospital.billing.insurance.models import Settlement
from ihospital.billing.ledger import (
    LedgerAccount,
    UnbalancedEntry,
    balance,
    clearing_account,
    insurance_fund_account,
    ledger_total,
    patient_account,
    personal_account_fund,
    post,
)
from ihospital.billing.models import JournalEntry, Order, OrderLine, Payment, Posting, Refund
from ihospital.billing.notify import receive_notification
from ihospital.billing.orders import cancel_order
from ihospital.billing.payments import apply_trade, start_payment
from ihospital.billing.providers.base import ProviderDeclined
from ihospital.billing.refunds import execute_refund
from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.errors import AppError
from tests.billing.builders import (
    insurance_sandbox,
    make_order,
    payer,
    refund_bill,
    sandbox,
    sandbox_url,
)
from tests.billing.insurance.builders import make_coverage, year_position
from tests.billing.test_checkout import DRUG_A, DRUG_C, FOLLOW_UP
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
    await _play(session, _World, parties, operations, books=shared_books_url)


async def _play(session, world_class, parties, operations, *, books) -> tuple[str, bool]:
    """Apply ``operations`` to a new world, checked after each; a refused operation is rolled
    back to before it, as a request would be, and the whole example afterwards. Answers the
    bill's status at the end and whether insurance got money back."""
    async with session.begin_nested() as example:
        world = await world_class.build(session, *parties, books_url=books)
        for operation in operations:
            try:
                async with session.begin_nested():
                    await world.apply(operation)
            except (AppError, ProviderDeclined):
                pass
            order, refunds = await world.check()
        outcome = order.status, any(refund.insured_fen for refund in refunds)
        await example.rollback()
    return outcome


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
    LINES: tuple = ()

    @classmethod
    async def build(cls, session, institution, patient, admin, *, books_url):
        world = cls()
        world.session = session
        world.clock = FrozenClock(START)
        world.provider = sandbox(world.clock, database_url=books_url)
        world.platform = insurance_sandbox(database_url=books_url)
        world.providers = {"sandbox": world.provider}
        world.order = await make_order(
            session,
            clock=world.clock,
            patient=patient,
            institution=institution,
            **({"lines": cls.LINES} if cls.LINES else {}),
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

    async def start(self, value):
        """Start paying the bill (idempotency key ``value``); answers the payment."""
        return await start_payment(
            self.session,
            payer(self.clock, self.order),
            order_id=self.order.id,
            channel="sandbox",
            idempotency_key=f"key-{value}",
            providers=self.providers,
        )

    async def apply(self, operation):
        kind, value, *rest = operation
        session, order = self.session, self.order
        if kind == "start" or (kind.startswith("pay") and value not in self.payments):
            payment = await self.start(value)
            if payment is None:
                return
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
            await refund_bill(
                session,
                self.admin,
                order_id=order.id,
                amount_fen=value,
                line_id=lines[rest[0]] if lines else None,
                idempotency_key=f"refund-{self.refund_keys}",
                platform=self.platform,
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
        elif kind == "cancel":
            await cancel_order(
                session,
                payer(self.clock, order),
                order_id=order.id,
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
        if order.payment_id is not None:
            assert order.paid_fen and order.payment_id in {p.id for p in succeeded}
        assert order.paid_fen or order.payment_id is None
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
        requested = [r for r in refunds if r.reason == "requested"]
        assert sum(r.amount_fen + r.insured_fen for r in requested) == order.refunded_fen
        return order, refunds


INSURED_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.integers(0, 2)),
        st.tuples(st.just("pay and deliver"), st.integers(0, 2)),
        st.tuples(st.just("pay and deliver"), st.integers(0, 1)),
        st.tuples(st.just("deliver"), st.integers(0, 5)),
        st.tuples(st.just("deliver"), st.integers(0, 5)),
        _REFUND,
        _REFUND,
        st.tuples(st.just("refund"), st.integers(1, 105_000), st.sampled_from([None, 0, 1, 2])),
        st.tuples(st.just("refund"), st.just(107_000), st.just(None)),
        st.tuples(st.just("payout"), st.booleans()),
        st.tuples(st.just("expire"), st.just(0)),
        st.tuples(st.just("cancel"), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=INSURED_OPERATIONS)
async def test_insured_bills_keep_the_ledger_and_the_year_totals_sound(
    session, shared_books_url, operations
):
    """Bills settled with medical insurance (with or without the personal account, or not at
    all) under any sequence of checkouts, payments, duplicated notifications, refunds of any
    part, payouts, expiry and cancellation: the ledger stays zero, the fund and the personal
    accounts hold exactly what the live settlement pays, the year's totals and the personal
    account follow the live settlement, and every refund is split into cash and insurance."""
    parties = _INSURED_PARTIES.get(id(session)) or await _insured_parties(session)
    status, insurance_refunded = await _play(
        session, _InsuredWorld, parties, operations, books=shared_books_url
    )
    event(f"bill {status}")
    if insurance_refunded:
        event("insurance refunded")
    target(float(insurance_refunded), label="insurance refunded")


_INSURED_PARTIES: dict[int, tuple] = {}
BALANCE = 30_000


async def _insured_parties(session):
    """A 三级 hospital in 武汉, a 就诊人 with 职工医保 and ¥300 in the personal account, and an
    admin, shared by every example of one test run."""
    clock = FrozenClock(START)
    institution = await make_institution(
        session, clock=clock, level="三级甲等", region_code="420102", region_name="武汉市江岸区"
    )
    patient = await make_patient(session, clock=clock)
    await make_coverage(session, patient=patient, clock=clock, account_balance_fen=BALANCE)
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    _INSURED_PARTIES[id(session)] = (institution, patient, admin)
    return _INSURED_PARTIES[id(session)]


class _InsuredWorld(_World):
    LINES = (FOLLOW_UP, DRUG_A, DRUG_C)

    async def start(self, value):
        """Check out with insurance (0), with insurance and the personal account (1), or
        without insurance (2); answers the payment of the cash part, if any."""
        outcome = await confirm_checkout(
            self.session,
            payer(self.clock, self.order),
            order_id=self.order.id,
            choice=Choice(use_insurance=value != 2, use_personal_account=value == 1),
            channel="sandbox",
            idempotency_key=f"key-{value}",
            providers=self.providers,
            platform=self.platform,
            cipher=CIPHER,
        )
        return outcome.payment

    async def check(self):
        order, refunds = await super().check()
        session = self.session
        settlements = (
            await session.scalars(
                select(Settlement)
                .where(Settlement.order_id == order.id)
                .execution_options(populate_existing=True)
            )
        ).all()
        live = [s for s in settlements if s.status in ("pending", "settled")]
        assert len(live) <= 1
        charged = live if order.paid_fen else []
        assert await balance(session, insurance_fund_account("420100")) == sum(
            s.hifp_pay for s in charged
        )
        assert await balance(session, personal_account_fund("420100")) == sum(
            s.acct_pay for s in charged
        )
        if order.paid_fen:
            assert order.insured_fen == sum(s.fund_pay_sumamt + s.acct_pay for s in live)
        assert await year_position(session, patient_id=order.patient_id) == (
            sum(s.act_pay_dedc for s in live),
            sum(s.hifp_pay for s in live),
            BALANCE - sum(s.acct_pay for s in live),
        )
        return order, refunds
