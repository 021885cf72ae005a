"""The sandbox payment provider keeps its books in a database of its own: every instance over
the same database (the web process and a worker) sees the same trades, refunds and statement."""

from datetime import UTC, date, datetime, timedelta

import pytest

from ihospital.billing.providers.base import ProviderDeclined, ProviderTimeout
from ihospital.billing.providers.sandbox import fee_of, parse_statement
from tests.billing.builders import sandbox

DAY = date(2026, 11, 23)


async def _paid(provider, clock, number: str, amount_fen: int) -> str:
    prepay = await provider.create(
        out_trade_no=number,
        amount_fen=amount_fen,
        description="挂号费",
        expires_at=clock.now() + timedelta(minutes=15),
    )
    await provider.pay(prepay.prepay_id)
    return prepay.prepay_id


async def test_two_instances_over_the_same_books_see_the_same_trades(clock, books_url):
    web, worker = sandbox(clock, database_url=books_url), sandbox(clock, database_url=books_url)
    prepay = await web.create(
        out_trade_no="P1", amount_fen=8900, description="挂号费", expires_at=clock.now()
    )
    assert (await worker.query(out_trade_no="P1")).state == "NOTPAY"
    [delivery] = await web.pay(prepay.prepay_id)
    seen = await worker.query(out_trade_no="P1")
    assert (seen.state, seen.amount_fen) == ("SUCCESS", 8900)
    assert seen.provider_trade_no in delivery.body
    await worker.refund(out_trade_no="P1", out_refund_no="R1", amount_fen=900, total_fen=8900)
    assert await web.refunded_fen(out_trade_no="P1") == 900
    with pytest.raises(ProviderDeclined):
        await web.refund(out_trade_no="P1", out_refund_no="R2", amount_fen=8001, total_fen=8900)
    # the same refund number is the same refund, wherever it is asked
    again = await web.refund(out_trade_no="P1", out_refund_no="R1", amount_fen=900, total_fen=8900)
    assert again.provider_refund_no == "SRR1"
    assert await worker.refunded_fen(out_trade_no="P1") == 900
    other = sandbox(clock)
    assert (await other.query(out_trade_no="P1")).state == "NOT_FOUND"


async def test_a_closed_or_declined_trade_cannot_be_paid(clock, books_url):
    provider = sandbox(clock, database_url=books_url)
    closing = await provider.create(
        out_trade_no="P2", amount_fen=100, description="x", expires_at=clock.now()
    )
    await provider.close(out_trade_no="P2")
    with pytest.raises(ProviderDeclined):
        await provider.pay(closing.prepay_id)
    declining = await provider.create(
        out_trade_no="P3", amount_fen=100, description="x", expires_at=clock.now()
    )
    await provider.decline(declining.prepay_id)
    assert (await provider.query(out_trade_no="P3")).state == "PAYERROR"
    with pytest.raises(ProviderDeclined):
        await provider.pay("no-such-prepay")


async def test_the_statement_lists_the_beijing_day_with_fees(clock, books_url):
    provider = sandbox(clock, database_url=books_url)
    clock.set(datetime(2026, 11, 22, 15, 59, tzinfo=UTC))  # 23:59 on the 22nd in Beijing
    await _paid(provider, clock, "P-EVE", 1000)
    clock.set(datetime(2026, 11, 22, 16, 0, tzinfo=UTC))  # midnight: the 23rd in Beijing
    await _paid(provider, clock, "P-DAY", 8900)
    clock.advance(timedelta(hours=2))
    await provider.refund(
        out_trade_no="P-DAY", out_refund_no="R-DAY", amount_fen=250, total_fen=8900
    )
    text = await provider.statement_csv(day=DAY)
    header = "time,trade_no,out_trade_no,refund_no,out_refund_no,type,status,amount,fee"
    assert text.splitlines()[0] == header
    assert ",PAYMENT,SUCCESS,89.00,0.53" in text and ",REFUND,REFUND,2.50,-0.02" in text
    payment, refund = await provider.download_statement(day=DAY)
    assert (payment.kind, payment.out_trade_no, payment.amount_fen, payment.fee_fen) == (
        "payment",
        "P-DAY",
        8900,
        53,
    )
    assert payment.at == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert (refund.kind, refund.out_refund_no, refund.amount_fen, refund.fee_fen) == (
        "refund",
        "R-DAY",
        250,
        -2,
    )
    assert refund.provider_trade_no == payment.provider_trade_no
    [eve] = await provider.download_statement(day=DAY - timedelta(days=1))
    assert eve.out_trade_no == "P-EVE"
    assert await provider.download_statement(day=DAY + timedelta(days=1)) == []


def test_fees_round_half_a_fen_up():
    assert [fee_of(amount) for amount in (0, 83, 84, 8900, 100_000)] == [0, 0, 1, 53, 600]


def test_a_file_that_is_not_a_statement_is_refused():
    with pytest.raises(ValueError, match="header"):
        parse_statement("date,amount\n2026-11-23,1.00\n")


async def test_failures_and_tampering(clock, books_url):
    provider = sandbox(clock, database_url=books_url)
    await _paid(provider, clock, "P4", 500)
    provider.fail_next("statement", "timeout")
    provider.fail_next("query", "declined")
    with pytest.raises(ProviderTimeout):
        await provider.download_statement(day=DAY)
    with pytest.raises(ProviderDeclined):
        await provider.query(out_trade_no="P4")
    await provider.tamper("P4", amount_fen=499)
    assert (await provider.query(out_trade_no="P4")).amount_fen == 499
    await provider.tamper("P4", amount_fen=None)
    assert (await provider.query(out_trade_no="P4")).state == "NOT_FOUND"
    assert await provider.download_statement(day=DAY) == []
