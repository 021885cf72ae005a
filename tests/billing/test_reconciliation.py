"""Reconciliation (对账): the sandbox's statement of a day against our payments and refunds."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ihospital.billing.models import Payment
from ihospital.billing.payments import start_payment
from ihospital.billing.providers.base import ProviderTimeout, StatementLine
from ihospital.billing.reconciliation import (
    RECONCILE_TOPIC,
    Mismatch,
    OurRecord,
    compare,
    next_day_to_reconcile,
    reconcile,
    schedule_next_reconciliations,
)
from ihospital.billing.reconciliation_models import ReconciliationMismatch, ReconciliationRun
from ihospital.billing.refunds import execute_refund
from ihospital.core.context import Actor
from ihospital.outbox.models import OutboxEvent
from tests.billing.builders import (
    make_order,
    new_key,
    pay_bill,
    payer,
    refund_bill,
    run_outbox,
    sandbox,
)
from tests.directory.builders import make_institution, make_staff

DAY = date(2026, 11, 23)
AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _line(kind, trade, amount, refund=""):
    status = "REFUND" if refund else "SUCCESS"
    return StatementLine(kind, trade, "ST" + trade, refund, "", amount, 0, status, AT)


def _ours(trade, amount, status="succeeded", refund=""):
    return OurRecord(trade, refund, amount, status, institution_id=7, order_id=3)


def test_a_matching_day_has_no_mismatch():
    statement = [_line("payment", "P1", 100), _line("refund", "P1", 40, refund="R1")]
    assert compare(statement, [_ours("P1", 100)], [_ours("P1", 40, refund="R1")]) == []


def test_every_kind_of_difference_is_listed():
    statement = [
        _line("payment", "P-STRAY", 500),
        _line("payment", "P-AMOUNT", 300),
        _line("payment", "P-WAITING", 200),
        _line("refund", "P-OK", 50, refund="R-STRAY"),
    ]
    payments = [
        _ours("P-AMOUNT", 299),
        _ours("P-WAITING", 200, status="created"),
        _ours("P-OURS", 100),
        _ours("P-FAILED", 100, status="failed"),
    ]
    refunds = [_ours("P-OK", 70, refund="R-OURS"), _ours("P-OK", 10, "pending", refund="R-P")]
    found = {
        (m.kind, m.record, m.out_refund_no or m.out_trade_no)
        for m in compare(statement, payments, refunds)
    }
    assert found == {
        ("missing_ours", "payment", "P-STRAY"),
        ("amount", "payment", "P-AMOUNT"),
        ("status", "payment", "P-WAITING"),
        ("missing_provider", "payment", "P-OURS"),
        ("missing_ours", "refund", "R-STRAY"),
        ("missing_provider", "refund", "R-OURS"),
    }
    [amount] = [m for m in compare(statement, payments, refunds) if m.kind == "amount"]
    assert amount == Mismatch(
        "amount", "payment", "P-AMOUNT", "", 300, 299, "SUCCESS", "succeeded", 7, 3
    )


def test_the_next_run_is_for_yesterday_until_ten_in_beijing():
    assert next_day_to_reconcile(datetime(2026, 11, 23, 1, 59, tzinfo=UTC)) == date(2026, 11, 22)
    assert next_day_to_reconcile(datetime(2026, 11, 23, 2, 0, tzinfo=UTC)) == DAY


@pytest.fixture
async def institution(session, clock):
    return await make_institution(session, clock=clock)


@pytest.fixture
async def admin(session, clock, institution):
    account = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    return Actor(
        role="institution_admin",
        clock=clock,
        account_id=account.id,
        institution_id=institution.id,
    )


async def _paid(session, clock, provider, institution) -> Payment:
    order = await make_order(session, clock=clock, institution=institution)
    return await pay_bill(session, clock, provider, order)


async def _refund(session, clock, provider, admin, payment, amount_fen):
    """An institution admin refunds part of a bill and the provider pays it out."""
    refund = await refund_bill(session, admin, order_id=payment.order_id, amount_fen=amount_fen)
    await execute_refund(
        session, Actor.system(clock), refund_id=refund.id, providers={"sandbox": provider}
    )
    return refund


async def _reconcile(session, clock, provider):
    run = await reconcile(
        session, Actor.system(clock), day=DAY, channel="sandbox", providers={"sandbox": provider}
    )
    rows = await session.scalars(
        select(ReconciliationMismatch).where(ReconciliationMismatch.run_id == run.id)
    )
    return run, {(m.kind, m.record, m.out_refund_no or m.out_trade_no): m for m in rows.all()}


async def test_a_day_that_matches_gives_a_run_without_mismatches(
    session, clock, institution, admin
):
    provider = sandbox(clock)
    first = await _paid(session, clock, provider, institution)
    await _paid(session, clock, provider, institution)
    await _refund(session, clock, provider, admin, first, 800)
    run, mismatches = await _reconcile(session, clock, provider)
    assert mismatches == {}
    assert (run.payments_count, run.payments_fen, run.refunds_count, run.refunds_fen) == (
        2,
        17_800,
        1,
        800,
    )
    assert (run.mismatch_count, run.fees_fen) == (0, 53 + 53 - 5)


async def test_each_injected_difference_is_found_and_a_rerun_replaces_the_run(
    session, clock, institution, admin
):
    provider = sandbox(clock)
    refunded = await _paid(session, clock, provider, institution)
    refund = await _refund(session, clock, provider, admin, refunded, 1000)
    changed = await _paid(session, clock, provider, institution)
    # a trade the app never heard of (paid at the provider's counter)
    stray = await provider.create(
        out_trade_no="P-STRAY", amount_fen=4200, description="?", expires_at=clock.now()
    )
    await provider.pay(stray.prepay_id)
    await provider.tamper(changed.out_trade_no, amount_fen=8800)
    await provider.tamper(refund.out_refund_no, amount_fen=None)
    # paid at the provider, but the notification never came and nobody asked yet
    waiting = await pay_bill_without_notice(session, clock, provider, institution)
    run, mismatches = await _reconcile(session, clock, provider)
    assert set(mismatches) == {
        ("missing_ours", "payment", "P-STRAY"),
        ("amount", "payment", changed.out_trade_no),
        ("missing_provider", "refund", refund.out_refund_no),
        ("status", "payment", waiting.out_trade_no),
    }
    amount = mismatches[("amount", "payment", changed.out_trade_no)]
    assert (amount.provider_amount_fen, amount.our_amount_fen) == (8800, 8900)
    assert amount.institution_id == institution.id
    assert mismatches[("missing_ours", "payment", "P-STRAY")].institution_id is None
    assert run.mismatch_count == 4
    again, mismatches_again = await _reconcile(session, clock, provider)
    assert again.id == run.id and set(mismatches_again) == set(mismatches)
    assert await session.scalar(select(func.count()).select_from(ReconciliationRun)) == 1
    assert await session.scalar(select(func.count()).select_from(ReconciliationMismatch)) == 4


async def pay_bill_without_notice(session, clock, provider, institution) -> Payment:
    order = await make_order(session, clock=clock, institution=institution)
    payment = await start_payment(
        session,
        payer(clock, order),
        order_id=order.id,
        channel="sandbox",
        idempotency_key=new_key("pay"),
        providers={"sandbox": provider},
    )
    assert await provider.pay(payment.pay_url.rsplit("/", 1)[1], plan="never") == []
    return payment


async def test_a_provider_that_does_not_answer_changes_nothing(session, clock):
    provider = sandbox(clock)
    provider.fail_next("statement", "timeout")
    with pytest.raises(ProviderTimeout):
        await _reconcile(session, clock, provider)
    assert await session.scalar(select(func.count()).select_from(ReconciliationRun)) == 0


async def test_the_daily_timer_runs_at_ten_and_sets_the_next_day(
    session_factory, session, clock, institution
):
    provider = sandbox(clock)
    await _paid(session, clock, provider, institution)
    await schedule_next_reconciliations(session, Actor.system(clock), channels=["sandbox"])
    await schedule_next_reconciliations(session, Actor.system(clock), channels=["sandbox"])
    await session.commit()
    timers = (
        await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == RECONCILE_TOPIC))
    ).all()
    # 09:00 in Beijing: yesterday's run is due at 10:00 today
    assert [(t.available_at, t.payload) for t in timers] == [
        (datetime(2026, 11, 23, 2, 0, tzinfo=UTC), '{"channel": "sandbox", "day": "2026-11-22"}')
    ]
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(hours=1))
    assert await session.scalar(select(func.count()).select_from(ReconciliationRun)) == 1
    # tomorrow at 10:00 today's run finds today's payment
    await run_outbox(session_factory, clock, {"sandbox": provider}, advance=timedelta(days=1))
    today = await session.scalar(
        select(ReconciliationRun)
        .where(ReconciliationRun.day == DAY)
        .execution_options(populate_existing=True)
    )
    assert (today.payments_count, today.mismatch_count) == (1, 0)
    next_timer = await session.scalar(
        select(OutboxEvent).where(
            OutboxEvent.topic == RECONCILE_TOPIC, OutboxEvent.status == "pending"
        )
    )
    assert next_timer.available_at == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
