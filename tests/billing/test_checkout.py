"""Checkout with medical insurance: the preview of the split, settling on confirmation, paying
only the cash part (or nothing through a provider), the ledger's insurance entries, refusals
that change nothing, and expiry giving the settlement back.

Terms: 武汉 职工医保 at a 三级 hospital (起付线 ¥700, fund 60 %)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.billing.checkout import Choice, SettlementPending, confirm_checkout, preview_checkout
from ihospital.billing.insurance.models import Coverage, Settlement, YearTotal
from ihospital.billing.models import Order, Payment
from ihospital.billing.orders import LineItem
from ihospital.errors import Unprocessable
from ihospital.identity.models import Account
from tests.billing.builders import (
    assert_ledger_sound,
    deliver,
    make_order,
    new_key,
    payer,
    reloaded,
    run_outbox,
    sandbox,
)
from tests.billing.insurance.builders import make_coverage, new_insurance_number
from tests.directory.builders import make_institution
from tests.identity.builders import CIPHER, auth_headers, make_account, make_patient

FOLLOW_UP = LineItem(
    "consultation", "consultation", "11", "复诊 心血管内科", 5_000, online_follow_up=True
)
DRUG_A = LineItem(
    "drug",
    "prescription_item",
    "12",
    "阿托伐他汀",
    50_000,
    2,
    drug_class="A",
    online_follow_up=True,
)
DRUG_C = LineItem(
    "drug", "prescription_item", "13", "保健品", 2_000, drug_class="C", online_follow_up=True
)
FIRST_VISIT = LineItem("consultation", "consultation", "14", "初诊", 5_000)


async def _insured_order(session, clock, *, lines=(FOLLOW_UP, DRUG_A, DRUG_C), balance=0, **cov):
    patient = await make_patient(session, clock=clock)
    await make_coverage(session, patient=patient, clock=clock, account_balance_fen=balance, **cov)
    institution = await make_institution(
        session, clock=clock, level="三级甲等", region_code="420102", region_name="武汉市江岸区"
    )
    return await make_order(
        session, clock=clock, patient=patient, institution=institution, lines=lines
    )


async def _confirm(session, clock, order, platform, provider, choice):
    return await confirm_checkout(
        session,
        payer(clock, order),
        order_id=order.id,
        choice=choice,
        channel="sandbox",
        idempotency_key=new_key("checkout"),
        providers={"sandbox": provider},
        platform=platform,
        cipher=CIPHER,
    )


async def _settlements(session, order):
    return await session.scalar(
        select(func.count()).select_from(Settlement).where(Settlement.order_id == order.id)
    )


async def test_the_preview_splits_each_line_and_the_cash_part_is_all_that_is_paid(
    session, clock, platform
):
    order = await _insured_order(session, clock)
    preview = await preview_checkout(
        session, payer(clock, order), order_id=order.id, choice=Choice(use_insurance=True)
    )
    # within policy 5 000 + 100 000; 70 000 to the deductible, the fund pays 60 % of 35 000
    assert [parts.hifp_pay for _, parts in preview.lines] == [1_000, 20_000, 0]
    assert preview.lines[2][1].fulamt_ownpay_amt == 2_000  # 丙类: self-paid, not claimed
    total = preview.total
    assert (total.medfee_sumamt, total.act_pay_dedc, total.hifp_pay) == (107_000, 70_000, 21_000)
    assert total.hifp_pay + total.acct_pay + total.psn_cash_pay == total.medfee_sumamt
    assert await _settlements(session, order) == 0

    outcome = await _confirm(
        session, clock, order, platform, sandbox(clock), Choice(use_insurance=True)
    )
    assert outcome.payment.amount_fen == total.psn_cash_pay == 86_000
    assert (await reloaded(session, Order, order.id)).insured_fen == 21_000
    [settlement] = (
        await session.scalars(select(Settlement).where(Settlement.order_id == order.id))
    ).all()
    assert (settlement.status, settlement.medfee_sumamt) == ("settled", 105_000)


async def test_paying_the_cash_part_journals_the_fund_and_the_account(session, clock, platform):
    provider = sandbox(clock)
    order = await _insured_order(session, clock, lines=(FOLLOW_UP, DRUG_A), balance=10_000)
    choice = Choice(use_insurance=True, use_personal_account=True)
    outcome = await _confirm(session, clock, order, platform, provider, choice)
    assert outcome.payment.amount_fen == 105_000 - 21_000 - 10_000
    [delivery] = await provider.pay(outcome.payment.pay_url.rsplit("/", 1)[1])
    assert await deliver(session, clock, provider, delivery.body) == "paid"
    balances = await assert_ledger_sound(session)
    assert balances[("insurance_fund", "420100")] == 21_000
    assert balances[("insurance_fund", "acct:420100")] == 10_000
    assert balances[("clearing", "sandbox")] == 74_000
    assert balances[("patient", str(order.patient_id))] == 0


async def test_a_bill_insurance_pays_entirely_is_paid_without_a_provider(session, clock, platform):
    order = await _insured_order(session, clock, lines=(FOLLOW_UP,), balance=100_000)
    outcome = await _confirm(
        session,
        clock,
        order,
        platform,
        sandbox(clock),
        Choice(use_insurance=True, use_personal_account=True),
    )
    assert outcome.payment is None
    order = await reloaded(session, Order, order.id)
    assert (order.status, order.insured_fen, order.payment_id) == ("paid", 5_000, None)
    balances = await assert_ledger_sound(session)
    assert balances[("insurance_fund", "acct:420100")] == 5_000


async def test_a_first_visit_with_insurance_is_refused_and_changes_nothing(
    session, clock, platform
):
    order = await _insured_order(session, clock, lines=(FIRST_VISIT,))
    with pytest.raises(Unprocessable) as refused:
        await _confirm(session, clock, order, platform, sandbox(clock), Choice(use_insurance=True))
    assert refused.value.code == "insurance.first_visit_not_covered"
    assert await _settlements(session, order) == 0


async def test_a_region_without_policy_is_refused_unless_the_patient_agrees_to_self_pay(
    session, clock, platform
):
    order = await _insured_order(session, clock, region_code="650102")
    with pytest.raises(Unprocessable) as refused:
        await preview_checkout(
            session, payer(clock, order), order_id=order.id, choice=Choice(use_insurance=True)
        )
    assert refused.value.code == "insurance.region_without_policy"
    assert refused.value.fields["region_code"] == "650102"
    outcome = await _confirm(
        session,
        clock,
        order,
        platform,
        sandbox(clock),
        Choice(use_insurance=True, self_pay_agreed=True),
    )
    assert outcome.payment.amount_fen == 107_000


async def test_a_rejection_is_a_clear_refusal_and_a_timeout_is_completed_later(
    session, clock, platform
):
    rejected = await _insured_order(
        session, clock, insurance_number=new_insurance_number(last_digit=9)
    )
    with pytest.raises(Unprocessable) as refused:
        await _confirm(
            session, clock, rejected, platform, sandbox(clock), Choice(use_insurance=True)
        )
    assert refused.value.code == "billing.insurance_rejected"

    order = await _insured_order(session, clock)
    platform.fail_next("settle", "lost_reply")
    with pytest.raises(SettlementPending):
        await _confirm(session, clock, order, platform, sandbox(clock), Choice(use_insurance=True))
    outcome = await _confirm(
        session, clock, order, platform, sandbox(clock), Choice(use_insurance=True)
    )
    assert outcome.payment.amount_fen == 86_000
    assert await _settlements(session, order) == 1


async def test_expiry_of_a_settled_but_unpaid_bill_reverses_the_settlement(
    session, session_factory, clock, platform
):
    async with session_factory() as setup, setup.begin():
        order = await _insured_order(setup, clock, balance=50_000)
        coverage_id = await setup.scalar(
            select(Coverage.id).where(Coverage.patient_id == order.patient_id)
        )
        choice = Choice(use_insurance=True, use_personal_account=True)
        await _confirm(setup, clock, order, platform, sandbox(clock), choice)
    await run_outbox(
        session_factory,
        clock,
        {"sandbox": sandbox(clock)},
        advance=timedelta(minutes=16),
        platform=platform,
    )
    async with session_factory() as check:
        order = await check.get(Order, order.id)
        settlement = await check.scalar(select(Settlement).where(Settlement.order_id == order.id))
        totals = await check.scalar(select(YearTotal).where(YearTotal.coverage_id == coverage_id))
        coverage = await check.get(Coverage, coverage_id)
        payments = (await check.scalars(select(Payment).where(Payment.order_id == order.id))).all()
    assert (order.status, order.insured_fen, settlement.status) == ("expired", 0, "reversed")
    assert (totals.deductible_met_fen, totals.fund_paid_fen) == (0, 0)
    assert coverage.account_balance_fen == 50_000
    assert [payment.status for payment in payments] == ["closed"]


async def test_the_api_previews_and_checks_out_only_for_the_payer(session, client, clock):
    order = await _insured_order(session, clock, lines=(FOLLOW_UP, DRUG_A, DRUG_C))
    owner = await session.get(Account, order.account_id)
    headers = await auth_headers(session, account=owner, clock=clock)
    stranger = await auth_headers(session, account=await make_account(session), clock=clock)
    url = f"/api/billing/orders/{order.id}/checkout"
    answer = await client.post(f"{url}/preview", json={"use_insurance": True}, headers=headers)
    assert answer.status_code == 200
    assert answer.json()["total"]["hifp_pay"] == 21_000
    assert [line["parts"]["psn_cash_pay"] for line in answer.json()["lines"]][2] == 2_000
    body = {"use_insurance": True, "idempotency_key": new_key()}
    refused = await client.post(url, json=body, headers=stranger)
    assert refused.status_code == 404
    paid = await client.post(url, json=body, headers=headers)
    assert paid.status_code == 200
    assert paid.json()["payment"]["amount_fen"] == 86_000
    assert paid.json()["order"]["insured_fen"] == 21_000


async def test_once_settled_the_preview_is_the_settlements_own_split(session, clock, platform):
    order = await _insured_order(session, clock, balance=10_000)
    choice = Choice(use_insurance=True, use_personal_account=True)
    before = await preview_checkout(session, payer(clock, order), order_id=order.id, choice=choice)
    platform.fail_next("settle", "lost_reply")
    with pytest.raises(SettlementPending):
        await _confirm(session, clock, order, platform, sandbox(clock), choice)
    after = await preview_checkout(
        session, payer(clock, order), order_id=order.id, choice=Choice(use_insurance=False)
    )
    assert after.settlement_status == "pending"
    assert [parts for _, parts in after.lines] == [parts for _, parts in before.lines]
    assert after.total == before.total and after.total.acct_pay == 10_000
