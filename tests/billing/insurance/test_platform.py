"""The sandbox insurance platform behaves like the real one: idempotent per settlement number,
refusals, timeouts before and after it acted, and configured latency. It keeps its books in a
database of its own, so they outlive a restart and every process over them sees them."""

from __future__ import annotations

import asyncio

import pytest

from ihospital.billing.insurance.platform import (
    INSURED_UNKNOWN_MESSAGE,
    NUMBER_REUSED_MESSAGE,
    PLATFORM_REFUSED_MESSAGE,
    UNKNOWN_SETTLEMENT_MESSAGE,
    PlatformRejected,
    PlatformTimeout,
)
from tests.billing.builders import insurance_sandbox
from tests.billing.insurance.builders import settlement_request


async def test_settling_the_same_settlement_twice_returns_the_first_answer(books_url):
    platform = insurance_sandbox(database_url=books_url)
    first = await platform.settle(settlement_request())
    assert first.state == "settled"
    assert await platform.settle(settlement_request()) == first
    assert await platform.query(settlement_no="YB1") == first


async def test_another_settlement_under_a_used_number_is_refused(books_url):
    platform = insurance_sandbox(database_url=books_url)
    await platform.settle(settlement_request())
    with pytest.raises(PlatformRejected) as refused:
        await platform.settle(settlement_request(amount_fen=20_000))
    assert refused.value.reason == NUMBER_REUSED_MESSAGE


async def test_an_insurance_number_ending_in_9_is_refused_and_nothing_is_recorded(books_url):
    platform = insurance_sandbox(database_url=books_url)
    with pytest.raises(PlatformRejected) as refused:
        await platform.settle(settlement_request(insurance_number="42010000000129"))
    assert refused.value.reason == INSURED_UNKNOWN_MESSAGE
    assert await platform.query(settlement_no="YB1") is None


async def test_an_insurance_number_ending_in_8_settles_but_the_answer_is_lost(books_url):
    platform = insurance_sandbox(database_url=books_url)
    with pytest.raises(PlatformTimeout):
        await platform.settle(settlement_request(insurance_number="42010000000128"))
    found = await platform.query(settlement_no="YB1")
    assert found is not None and found.state == "settled"


async def test_a_timeout_before_the_platform_acts_records_nothing(books_url):
    platform = insurance_sandbox(database_url=books_url)
    platform.fail_next("settle", "timeout")
    with pytest.raises(PlatformTimeout):
        await platform.settle(settlement_request())
    assert await platform.query(settlement_no="YB1") is None
    assert (await platform.settle(settlement_request())).state == "settled"


async def test_latency_at_or_above_the_timeout_makes_every_call_time_out(books_url):
    platform = insurance_sandbox(database_url=books_url, latency_seconds=5.0, timeout_seconds=5.0)
    with pytest.raises(PlatformTimeout):
        await platform.settle(settlement_request())
    with pytest.raises(PlatformTimeout):
        await platform.query(settlement_no="YB1")
    platform.latency_seconds = 0.0
    assert await platform.query(settlement_no="YB1") is None


async def test_a_forced_refusal_strikes_once(books_url):
    platform = insurance_sandbox(database_url=books_url)
    platform.fail_next("settle", "rejected")
    with pytest.raises(PlatformRejected) as refused:
        await platform.settle(settlement_request())
    assert refused.value.reason == PLATFORM_REFUSED_MESSAGE
    assert (await platform.settle(settlement_request())).state == "settled"


async def test_reversal_is_idempotent_and_survives_a_lost_answer(books_url):
    platform = insurance_sandbox(database_url=books_url)
    settled = await platform.settle(settlement_request())
    platform.fail_next("reverse", "lost_reply")
    with pytest.raises(PlatformTimeout):
        await platform.reverse(settlement_no="YB1")
    assert (await platform.query(settlement_no="YB1")).state == "reversed"
    again = await platform.reverse(settlement_no="YB1")
    assert (again.state, again.reference, again.total) == (
        "reversed",
        settled.reference,
        settled.total,
    )


async def test_reversing_an_unknown_settlement_is_refused(books_url):
    platform = insurance_sandbox(database_url=books_url)
    with pytest.raises(PlatformRejected) as refused:
        await platform.reverse(settlement_no="YB404")
    assert refused.value.reason == UNKNOWN_SETTLEMENT_MESSAGE


async def test_a_query_whose_answer_is_lost_times_out(books_url):
    platform = insurance_sandbox(database_url=books_url)
    platform.fail_next("query", "lost_reply")
    with pytest.raises(PlatformTimeout):
        await platform.query(settlement_no="YB1")


async def test_two_platforms_over_the_same_books_see_the_same_settlements(books_url):
    web = insurance_sandbox(database_url=books_url)
    worker = insurance_sandbox(database_url=books_url)
    settled = await web.settle(settlement_request())
    assert await worker.query(settlement_no="YB1") == settled
    reversed_settlement = await worker.reverse(settlement_no="YB1")
    assert await web.query(settlement_no="YB1") == reversed_settlement
    assert await insurance_sandbox().query(settlement_no="YB1") is None


async def test_a_settlement_whose_answer_was_lost_is_found_and_reversed_after_a_restart(
    books_url,
):
    before = insurance_sandbox(database_url=books_url)
    with pytest.raises(PlatformTimeout):
        await before.settle(settlement_request(insurance_number="42010000000128"))
    after = insurance_sandbox(database_url=books_url)
    found = await after.query(settlement_no="YB1")
    assert found is not None and found.state == "settled"
    reversed_settlement = await after.reverse(settlement_no="YB1")
    assert (reversed_settlement.state, reversed_settlement.reference) == (
        "reversed",
        found.reference,
    )


async def test_idempotency_per_settlement_number_survives_a_restart(books_url):
    first = await insurance_sandbox(database_url=books_url).settle(settlement_request())
    restarted = insurance_sandbox(database_url=books_url)
    assert await restarted.settle(settlement_request()) == first
    with pytest.raises(PlatformRejected) as refused:
        await restarted.settle(settlement_request(amount_fen=20_000))
    assert refused.value.reason == NUMBER_REUSED_MESSAGE
    reversed_settlement = await restarted.reverse(settlement_no="YB1")
    again = insurance_sandbox(database_url=books_url)
    assert await again.reverse(settlement_no="YB1") == reversed_settlement


async def test_a_forced_failure_strikes_only_the_platform_object_it_was_set_on(books_url):
    web = insurance_sandbox(database_url=books_url)
    worker = insurance_sandbox(database_url=books_url)
    web.fail_next("settle", "rejected")
    assert (await worker.settle(settlement_request())).state == "settled"
    with pytest.raises(PlatformRejected):
        await web.settle(settlement_request())


async def test_first_calls_of_several_processes_at_once_all_come_through(books_url):
    # each finds the books without tables and makes them; none must trip over another
    platforms = [insurance_sandbox(database_url=books_url) for _ in range(4)]
    answers = await asyncio.gather(
        *(
            platform.settle(settlement_request(settlement_no=f"YB{index}"))
            for index, platform in enumerate(platforms)
        )
    )
    assert [answer.state for answer in answers] == ["settled"] * 4
