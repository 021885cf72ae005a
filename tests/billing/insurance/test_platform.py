"""The sandbox insurance platform behaves like the real one: idempotent per settlement number,
refusals, timeouts before and after it acted, and configured latency."""

from __future__ import annotations

import pytest

from ihospital.billing.insurance.engine import ClaimLine, YearToDate, split_claim
from ihospital.billing.insurance.platform import (
    INSURED_UNKNOWN_MESSAGE,
    NUMBER_REUSED_MESSAGE,
    PLATFORM_REFUSED_MESSAGE,
    UNKNOWN_SETTLEMENT_MESSAGE,
    PlatformRejected,
    PlatformTimeout,
    SandboxInsurancePlatform,
    SettlementRequest,
)
from ihospital.billing.insurance.policy import load_policy_table

TERMS = load_policy_table().find("420100").terms("employee", "secondary")


def _request(number: str = "42010000000123", settlement_no: str = "YB1", amount: int = 10_000):
    split = split_claim(
        TERMS,
        year_to_date=YearToDate(),
        account_balance_fen=0,
        use_account=False,
        lines=[ClaimLine(amount, "consultation")],
    )
    return SettlementRequest(
        settlement_no=settlement_no,
        insurance_number=number,
        insurance_type="employee",
        region_code="420102",
        institution_id=1,
        total=split.total,
        lines=split.lines,
    )


async def test_settling_the_same_settlement_twice_returns_the_first_answer():
    platform = SandboxInsurancePlatform()
    first = await platform.settle(_request())
    assert first.state == "settled"
    assert await platform.settle(_request()) == first
    assert await platform.query(settlement_no="YB1") == first


async def test_another_settlement_under_a_used_number_is_refused():
    platform = SandboxInsurancePlatform()
    await platform.settle(_request())
    with pytest.raises(PlatformRejected) as refused:
        await platform.settle(_request(amount=20_000))
    assert refused.value.reason == NUMBER_REUSED_MESSAGE


async def test_an_insurance_number_ending_in_9_is_refused_and_nothing_is_recorded():
    platform = SandboxInsurancePlatform()
    with pytest.raises(PlatformRejected) as refused:
        await platform.settle(_request(number="42010000000129"))
    assert refused.value.reason == INSURED_UNKNOWN_MESSAGE
    assert await platform.query(settlement_no="YB1") is None


async def test_an_insurance_number_ending_in_8_settles_but_the_answer_is_lost():
    platform = SandboxInsurancePlatform()
    with pytest.raises(PlatformTimeout):
        await platform.settle(_request(number="42010000000128"))
    found = await platform.query(settlement_no="YB1")
    assert found is not None and found.state == "settled"


async def test_a_timeout_before_the_platform_acts_records_nothing():
    platform = SandboxInsurancePlatform()
    platform.fail_next("settle", "timeout")
    with pytest.raises(PlatformTimeout):
        await platform.settle(_request())
    assert await platform.query(settlement_no="YB1") is None
    assert (await platform.settle(_request())).state == "settled"


async def test_latency_at_or_above_the_timeout_makes_every_call_time_out():
    platform = SandboxInsurancePlatform(latency_seconds=5.0, timeout_seconds=5.0)
    with pytest.raises(PlatformTimeout):
        await platform.settle(_request())
    with pytest.raises(PlatformTimeout):
        await platform.query(settlement_no="YB1")
    platform.latency_seconds = 0.0
    assert await platform.query(settlement_no="YB1") is None


async def test_a_forced_refusal_strikes_once():
    platform = SandboxInsurancePlatform()
    platform.fail_next("settle", "rejected")
    with pytest.raises(PlatformRejected) as refused:
        await platform.settle(_request())
    assert refused.value.reason == PLATFORM_REFUSED_MESSAGE
    assert (await platform.settle(_request())).state == "settled"


async def test_reversal_is_idempotent_and_survives_a_lost_answer():
    platform = SandboxInsurancePlatform()
    settled = await platform.settle(_request())
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


async def test_reversing_an_unknown_settlement_is_refused():
    platform = SandboxInsurancePlatform()
    with pytest.raises(PlatformRejected) as refused:
        await platform.reverse(settlement_no="YB404")
    assert refused.value.reason == UNKNOWN_SETTLEMENT_MESSAGE


async def test_a_query_whose_answer_is_lost_times_out():
    platform = SandboxInsurancePlatform()
    platform.fail_next("query", "lost_reply")
    with pytest.raises(PlatformTimeout):
        await platform.query(settlement_no="YB1")
