"""Settling orders with medical insurance against the database: the year's totals and the
personal account move with each settlement and back with its reversal; refusals change nothing;
the sandbox platform's refusals and timeouts are handled.

Terms: 武汉 职工医保 at a 三级 hospital (起付线 ¥700, fund 60 %, 封顶线 ¥3 000)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.insurance.engine import ClaimLine
from ihospital.billing.insurance.models import Coverage, Settlement, YearTotal
from ihospital.billing.insurance.platform import INSURED_UNKNOWN_MESSAGE
from ihospital.billing.insurance.settlement import (
    get_settlement,
    reverse_settlement,
    settle_claim,
)
from ihospital.core.context import Actor
from ihospital.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from tests.billing.builders import insurance_sandbox, make_order
from tests.billing.insurance.builders import make_coverage, new_insurance_number, owner
from tests.directory.builders import make_institution, make_staff
from tests.identity.builders import CIPHER, make_patient

FIRST_CLAIM = (ClaimLine(5_000, "consultation"), ClaimLine(30_000, "drug", "A"))


@pytest.fixture
def platform():
    return insurance_sandbox()


async def _insured(session, clock, *, last_digit=1):
    """A 就诊人 with 武汉 职工医保 and ¥1 000 in the personal account (the insurance number
    ending in ``last_digit``), and a 三级 hospital."""
    patient = await make_patient(session, clock=clock)
    coverage = await make_coverage(
        session,
        patient=patient,
        clock=clock,
        insurance_number=new_insurance_number(last_digit=last_digit),
        account_balance_fen=100_000,
    )
    institution = await make_institution(
        session, clock=clock, level="三级甲等", region_code="420102", region_name="武汉市江岸区"
    )
    return patient, coverage, institution


@pytest.fixture
async def setup(session, clock):
    return await _insured(session, clock)


async def _order(session, clock, setup):
    """A bill of the 就诊人 at the hospital to settle (its lines are not claimed as such)."""
    patient, _, institution = setup
    return await make_order(session, clock=clock, patient=patient, institution=institution)


async def _settle(session, clock, setup, platform, *, lines=FIRST_CLAIM, order_id=None, **extra):
    patient, _, institution = setup
    extra.setdefault("use_personal_account", True)
    return await settle_claim(
        session,
        owner(patient, clock),
        order_id=order_id or (await _order(session, clock, setup)).id,
        patient_id=patient.id,
        institution_id=institution.id,
        lines=lines,
        platform=platform,
        cipher=CIPHER,
        **extra,
    )


async def _reverse(session, clock, settlement, platform, actor=None):
    return await reverse_settlement(
        session,
        actor or Actor.system(clock),
        order_id=settlement.order_id,
        platform=platform,
        cipher=CIPHER,
    )


async def _year(session, coverage, year=2026):
    totals = await session.scalar(
        select(YearTotal).where(YearTotal.coverage_id == coverage.id, YearTotal.year == year)
    )
    return (totals.deductible_met_fen, totals.fund_paid_fen) if totals else None


async def _balance(session, coverage):
    return await session.scalar(
        select(Coverage.account_balance_fen).where(Coverage.id == coverage.id)
    )


async def test_a_settlement_holds_the_year_totals_and_debits_the_account(
    session, clock, setup, platform
):
    # 5 000 + 30 000 within policy, all against the open ¥700 deductible; the account pays it.
    _, coverage, _ = setup
    settlement = await _settle(session, clock, setup, platform)
    assert settlement.status == "settled"
    assert settlement.platform_reference.startswith("SBXS")
    assert (settlement.medfee_sumamt, settlement.act_pay_dedc, settlement.acct_pay) == (
        35_000,
        35_000,
        35_000,
    )
    assert await _year(session, coverage) == (35_000, 0)
    assert await _balance(session, coverage) == 65_000
    view = await get_settlement(session, owner(setup[0], clock), order_id=settlement.order_id)
    assert [(line.position, line.kind, line.act_pay_dedc) for line in view.lines] == [
        (1, "consultation", 5_000),
        (2, "drug", 30_000),
    ]


async def test_the_second_settlement_uses_what_is_left_of_the_deductible_and_refunds_restore_it(
    session, clock, setup, platform
):
    _, coverage, _ = setup
    first = await _settle(session, clock, setup, platform)
    # open deductible 70 000 − 35 000 = 35 000; fund 60 % × (50 000 − 35 000) = 9 000;
    # patient 41 000 from the account (balance 65 000 left).
    second = await _settle(session, clock, setup, platform, lines=[ClaimLine(50_000, "drug", "A")])
    assert (second.act_pay_dedc, second.hifp_pay, second.acct_pay) == (35_000, 9_000, 41_000)
    assert await _year(session, coverage) == (70_000, 9_000)
    assert await _balance(session, coverage) == 24_000

    reversed_first = await _reverse(session, clock, first, platform)
    assert reversed_first.status == "reversed"
    assert await _year(session, coverage) == (35_000, 9_000)
    assert await _balance(session, coverage) == 59_000
    await _reverse(session, clock, second, platform)
    assert await _year(session, coverage) == (0, 0)
    assert await _balance(session, coverage) == 100_000


async def test_settling_an_order_again_returns_its_settlement_and_changes_nothing(
    session, clock, setup, platform
):
    _, coverage, _ = setup
    order_id = (await _order(session, clock, setup)).id
    first = await _settle(session, clock, setup, platform, order_id=order_id)
    again = await _settle(session, clock, setup, platform, order_id=order_id)
    assert again.id == first.id
    assert await _year(session, coverage) == (35_000, 0)
    assert await _balance(session, coverage) == 65_000


async def test_a_reversed_order_can_be_settled_again(session, clock, setup, platform):
    order_id = (await _order(session, clock, setup)).id
    first = await _settle(session, clock, setup, platform, order_id=order_id)
    await _reverse(session, clock, first, platform)
    second = await _settle(session, clock, setup, platform, order_id=order_id)
    assert second.id != first.id
    assert second.status == "settled"


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([ClaimLine(1_200, "drug", "C")], "insurance.class_c_not_claimable"),
        (
            [ClaimLine(5_000, "consultation", online_follow_up=False)],
            "insurance.first_visit_not_covered",
        ),
        ([ClaimLine(5_000, "drug")], "insurance.drug_class_invalid"),
        ([ClaimLine(5_000, "consultation", "A")], "insurance.drug_class_invalid"),
        ([ClaimLine(0, "consultation")], "insurance.amount_invalid"),
        ([ClaimLine(-100, "consultation")], "insurance.amount_invalid"),
        ([ClaimLine(10**11, "consultation")], "insurance.amount_invalid"),
        ([ClaimLine(5_000, "massage")], "insurance.kind_unknown"),
        ([], "insurance.lines_count"),
    ],
)
async def test_a_claim_that_cannot_be_made_is_refused_and_nothing_changes(
    session, clock, setup, platform, lines, code
):
    _, coverage, _ = setup
    with pytest.raises(Unprocessable) as refused:
        await _settle(session, clock, setup, platform, lines=lines)
    assert refused.value.code == code
    assert await session.scalar(select(func.count()).select_from(Settlement)) == 0
    assert await _year(session, coverage) is None
    assert await _balance(session, coverage) == 100_000


async def test_a_region_without_a_policy_entry_is_refused_naming_the_region(
    session, clock, platform
):
    patient = await make_patient(session, clock=clock)
    await make_coverage(session, patient=patient, clock=clock, region_code="310104")
    institution = await make_institution(session, clock=clock)
    setup = (patient, None, institution)
    with pytest.raises(Unprocessable) as refused:
        await _settle(session, clock, setup, platform)
    assert refused.value.code == "insurance.region_without_policy"
    assert refused.value.fields["region_code"] == "310104"
    assert "310104" in refused.value.to_problem("zh-CN")["detail"]

    agreed = await _settle(session, clock, setup, platform, self_pay_agreed=True)
    assert agreed.status == "self_pay"
    assert agreed.fulamt_ownpay_amt == agreed.psn_cash_pay == 35_000
    assert agreed.fund_pay_sumamt == agreed.acct_pay == 0
    assert await platform.query(settlement_no=agreed.settlement_no) is None
    assert (await _reverse(session, clock, agreed, platform)).status == "reversed"


async def test_a_coverage_not_valid_today_is_refused(session, clock, platform):
    patient = await make_patient(session, clock=clock)
    await make_coverage(
        session, patient=patient, clock=clock, valid_from=datetime(2027, 1, 1).date()
    )
    setup = (patient, None, await make_institution(session, clock=clock))
    with pytest.raises(Conflict) as refused:
        await _settle(session, clock, setup, platform)
    assert refused.value.code == "insurance.coverage_not_valid"


async def test_a_refusal_by_the_platform_gives_the_holds_back(session, clock, platform):
    setup = await _insured(session, clock, last_digit=9)
    coverage = setup[1]
    order_id = (await _order(session, clock, setup)).id
    settlement = await _settle(session, clock, setup, platform, order_id=order_id)
    assert settlement.status == "rejected"
    assert settlement.rejection_reason == INSURED_UNKNOWN_MESSAGE
    assert await _year(session, coverage) == (0, 0)
    assert await _balance(session, coverage) == 100_000
    retry = await _settle(session, clock, setup, platform, order_id=order_id)
    assert retry.id != settlement.id


async def test_a_lost_answer_leaves_the_settlement_pending_until_a_query_finds_it(
    session, clock, platform
):
    setup = await _insured(session, clock, last_digit=8)
    coverage = setup[1]
    order_id = (await _order(session, clock, setup)).id
    pending = await _settle(session, clock, setup, platform, order_id=order_id)
    assert pending.status == "pending"
    assert await _year(session, coverage) == (35_000, 0)  # held: the platform may have settled
    assert await _balance(session, coverage) == 65_000
    done = await _settle(session, clock, setup, platform, order_id=order_id)
    assert (done.id, done.status) == (pending.id, "settled")
    assert await _year(session, coverage) == (35_000, 0)
    assert await _balance(session, coverage) == 65_000


async def test_a_settlement_the_platform_never_saw_is_submitted_again(
    session, clock, setup, platform
):
    platform.fail_next("settle", "timeout")
    order_id = (await _order(session, clock, setup)).id
    pending = await _settle(session, clock, setup, platform, order_id=order_id)
    assert pending.status == "pending"
    assert await platform.query(settlement_no=pending.settlement_no) is None
    done = await _settle(session, clock, setup, platform, order_id=order_id)
    assert done.status == "settled"
    assert (await platform.query(settlement_no=done.settlement_no)).state == "settled"


async def test_a_reversal_without_an_answer_changes_nothing_and_can_be_retried(
    session, clock, setup, platform
):
    _, coverage, _ = setup
    settlement = await _settle(session, clock, setup, platform)
    platform.fail_next("reverse", "lost_reply")
    with pytest.raises(ServiceUnavailable) as unavailable:
        await _reverse(session, clock, settlement, platform)
    assert unavailable.value.code == "insurance.platform_unavailable"
    assert settlement.status == "settled"
    assert await _year(session, coverage) == (35_000, 0)
    assert (await _reverse(session, clock, settlement, platform)).status == "reversed"
    assert await _year(session, coverage) == (0, 0)
    assert await _balance(session, coverage) == 100_000


async def test_only_the_institution_or_the_system_reverses_a_settlement(
    session, clock, setup, platform
):
    patient, _, institution = setup
    settlement = await _settle(session, clock, setup, platform)
    other = await make_institution(session, clock=clock)
    stranger = await make_staff(session, clock=clock, institution=other, role="institution_admin")
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    for actor in (
        owner(patient, clock),
        Actor(
            role="institution_admin", clock=clock, account_id=stranger.id, institution_id=other.id
        ),
    ):
        with pytest.raises(Forbidden):
            await _reverse(session, clock, settlement, platform, actor)
    staff = Actor(
        role="institution_admin", clock=clock, account_id=admin.id, institution_id=institution.id
    )
    assert (await _reverse(session, clock, settlement, platform, staff)).status == "reversed"


async def test_reversing_an_order_without_a_settlement_is_not_found(session, clock, platform):
    with pytest.raises(NotFound) as missing:
        await reverse_settlement(
            session, Actor.system(clock), order_id=123, platform=platform, cipher=CIPHER
        )
    assert missing.value.code == "insurance.settlement_not_found"


async def test_the_year_is_the_calendar_year_in_shanghai_and_a_refund_restores_its_own_year(
    session, clock, setup, platform
):
    _, coverage, _ = setup
    clock.set(datetime(2026, 12, 31, 15, 30, tzinfo=UTC))  # 23:30 on 31 December in Shanghai
    december = await _settle(session, clock, setup, platform)
    clock.set(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 January 2027
    january = await _settle(session, clock, setup, platform)
    assert (december.year, january.year) == (2026, 2027)
    assert await _year(session, coverage, 2026) == (35_000, 0)
    assert await _year(session, coverage, 2027) == (35_000, 0)
    await _reverse(session, clock, december, platform)
    assert await _year(session, coverage, 2026) == (0, 0)
    assert await _year(session, coverage, 2027) == (35_000, 0)


async def test_only_the_settling_account_and_the_institution_read_a_settlement(
    session, clock, setup, platform
):
    patient, _, institution = setup
    settlement = await _settle(session, clock, setup, platform)
    stranger = await make_patient(session, clock=clock)
    with pytest.raises(NotFound):
        await get_settlement(session, owner(stranger, clock), order_id=settlement.order_id)
    staff = Actor(
        role="institution_admin", clock=clock, account_id=None, institution_id=institution.id
    )
    view = await get_settlement(session, staff, order_id=settlement.order_id)
    assert view.settlement.id == settlement.id
    actions = await session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.subject_type == "insurance_settlement",
            AuditEntry.subject_id == str(settlement.id),
        )
    )
    assert list(actions.all()) == ["insurance.settle", "insurance.read"]


async def test_an_order_settled_for_one_patient_cannot_be_settled_for_another(
    session, clock, setup, platform
):
    order_id = (await _order(session, clock, setup)).id
    await _settle(session, clock, setup, platform, order_id=order_id)
    other = await make_patient(session, clock=clock)
    await make_coverage(session, patient=other, clock=clock)
    with pytest.raises(Conflict) as refused:
        await _settle(session, clock, (other, None, setup[2]), platform, order_id=order_id)
    assert refused.value.code == "insurance.order_settled_for_other"
