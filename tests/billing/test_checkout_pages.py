"""Checking out a bill with medical insurance in the browser: the split per line and in total
before paying (refreshed by a plain form post or by htmx), paying only the cash part, and the
refusals: a region without policy (self-pay offered), a first visit, the platform's silence.

Terms: 武汉 职工医保 at a 三级 hospital (起付线 ¥700, fund 60 %); the default bill is a follow-up
visit ¥50, two 甲类 drugs ¥1,000 and a 丙类 drug ¥20."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.billing.insurance.models import Settlement
from ihospital.billing.models import Order, Payment
from ihospital.identity.models import Account
from tests.billing.builders import make_order, reloaded
from tests.billing.insurance.builders import new_insurance_number
from tests.billing.test_checkout import FIRST_VISIT, FOLLOW_UP, _insured_order
from tests.identity.builders import csrf_token, make_account
from tests.web.builders import sign_in, sign_in_as

INSURANCE = {"use_insurance": "true"}
WITH_ACCOUNT = {"use_insurance": "true", "use_personal_account": "true"}


async def _signed_in_payer(session, client, clock, order: Order) -> None:
    owner = await session.get(Account, order.account_id)
    await sign_in_as(session, client, account=owner, clock=clock)


async def _post(client, path: str, data: dict[str, str], **kwargs):
    return await client.post(path, data={**data, "csrf_token": await csrf_token(client)}, **kwargs)


async def _pay(client, order: Order, choice: dict[str, str]):
    return await _post(
        client,
        f"/bills/{order.id}/pay",
        {"channel": "sandbox", "idempotency_key": f"page-{order.id}", **choice},
    )


async def _settlements(session, order: Order) -> list[Settlement]:
    rows = await session.scalars(
        select(Settlement)
        .where(Settlement.order_id == order.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def test_the_bill_page_shows_the_split_with_insurance_before_paying(client, session, clock):
    order = await _insured_order(session, clock, balance=10_000)
    await _signed_in_payer(session, client, clock, order)
    page = await client.get(f"/bills/{order.id}")
    assert page.status_code == 200
    html = page.text
    assert 'name="use_insurance" type="checkbox" value="true" checked' in html
    assert "使用个人账户支付（余额 ¥100.00）" in html
    for label, code in (
        ("统筹基金支付", "hifp_pay"),
        ("个人账户支付", "acct_pay"),
        ("个人自付", "psn_part_amt − fulamt_ownpay_amt"),
        ("个人自费", "fulamt_ownpay_amt"),
        ("本次现金支付", "psn_cash_pay"),
    ):
        assert f'{label} <small class="part-code secondary">{code}</small>' in html, label
    # the fund pays 60 % above the deductible: ¥10 of the visit, ¥200 of the drugs
    for amount in ("¥10.00", "¥200.00", "¥210.00", "¥840.00", "¥20.00", "¥860.00"):
        assert amount in html, amount
    assert "支付 ¥860.00" in html


async def test_changing_the_choice_refreshes_the_split_with_or_without_javascript(
    client, session, clock
):
    order = await _insured_order(session, clock, balance=10_000)
    await _signed_in_payer(session, client, clock, order)
    path = f"/bills/{order.id}/checkout/preview"

    plain = await _post(client, path, WITH_ACCOUNT)
    assert plain.status_code == 200 and "<html" in plain.text
    assert "支付 ¥760.00" in plain.text and 'value="true" checked' in plain.text

    partial = await _post(client, path, {}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert partial.text.lstrip().startswith('<form method="post" action="/bills/')
    assert 'id="checkout"' in partial.text and "支付 ¥1,070.00" in partial.text

    previews = await session.scalars(
        select(AuditEntry.details)
        .where(AuditEntry.action == "billing.checkout.preview")
        .order_by(AuditEntry.id)
    )
    chosen = [json.loads(details) for details in previews.all()]
    assert [(c["use_insurance"], c["use_personal_account"]) for c in chosen] == [
        (True, True),
        (False, False),
    ]


async def test_paying_with_insurance_pays_only_the_cash_part(client, session, clock):
    order = await _insured_order(session, clock, balance=10_000)
    await _signed_in_payer(session, client, clock, order)
    paying = await _pay(client, order, WITH_ACCOUNT)
    assert paying.status_code == 303
    assert paying.headers["location"].startswith("/billing/sandbox/pay/")
    sandbox_page = await client.get(paying.headers["location"])
    assert "¥760.00" in sandbox_page.text
    [settlement] = await _settlements(session, order)
    assert (settlement.status, settlement.hifp_pay, settlement.acct_pay) == (
        "settled",
        21_000,
        10_000,
    )
    assert (await reloaded(session, Order, order.id)).insured_fen == 31_000


async def test_a_bill_insurance_pays_entirely_is_paid_at_once(client, session, clock):
    order = await _insured_order(session, clock, lines=(FOLLOW_UP,), balance=100_000)
    await _signed_in_payer(session, client, clock, order)
    page = await _post(client, f"/bills/{order.id}/checkout/preview", WITH_ACCOUNT)
    assert "医保结算" in page.text and "支付 ¥" not in page.text
    paying = await _pay(client, order, WITH_ACCOUNT)
    assert (paying.status_code, paying.headers["location"]) == (303, f"/bills/{order.id}")
    paid = await client.get(f"/bills/{order.id}")
    assert "医保已支付全部费用" in paid.text
    assert (await reloaded(session, Order, order.id)).status == "paid"


async def test_a_region_without_policy_is_explained_and_self_pay_is_offered(client, session, clock):
    order = await _insured_order(session, clock, region_code="650102")
    await _signed_in_payer(session, client, clock, order)
    page = await client.get(f"/bills/{order.id}")
    assert "医保政策表中没有参保地 650102 的规定" in page.text
    assert 'data-problem="insurance.region_without_policy"' in page.text
    assert 'name="self_pay_agreed"' in page.text
    assert 'name="use_insurance" type="checkbox" value="true"\n' in page.text  # not ticked
    assert "支付 ¥1,070.00" in page.text  # the split without insurance

    agreed = await _post(client, f"/bills/{order.id}/checkout/preview", {"self_pay_agreed": "true"})
    assert "region_without_policy" not in agreed.text
    assert 'name="self_pay_agreed" type="checkbox" value="true" checked' in agreed.text
    paying = await _pay(client, order, {"self_pay_agreed": "true"})
    assert paying.headers["location"].startswith("/billing/sandbox/pay/")
    [settlement] = await _settlements(session, order)
    assert (settlement.status, settlement.psn_cash_pay) == ("self_pay", 105_000)
    [payment] = (await session.scalars(select(Payment).where(Payment.order_id == order.id))).all()
    assert payment.amount_fen == 107_000


async def test_a_first_visit_is_explained_and_refused_with_insurance(client, session, clock):
    order = await _insured_order(session, clock, lines=(FIRST_VISIT,))
    await _signed_in_payer(session, client, clock, order)
    page = await client.get(f"/bills/{order.id}")
    assert "医保仅支付线上复诊费用，初诊不予支付。" in page.text  # beside the line
    assert 'data-problem="insurance.first_visit_not_covered"' in page.text
    assert "支付 ¥50.00" in page.text

    refused = await _pay(client, order, INSURANCE)
    assert (refused.status_code, refused.headers["location"]) == (303, f"/bills/{order.id}")
    shown = await client.get(f"/bills/{order.id}")
    assert "第 1 项为初诊或健康咨询：医保仅支付线上复诊费用。" in shown.text
    assert await _settlements(session, order) == []
    paying = await _pay(client, order, {})
    assert paying.headers["location"].startswith("/billing/sandbox/pay/")


async def test_a_refused_settlement_changes_nothing(client, session, clock):
    order = await _insured_order(
        session, clock, insurance_number=new_insurance_number(last_digit=9)
    )
    await _signed_in_payer(session, client, clock, order)
    refused = await _pay(client, order, INSURANCE)
    assert refused.headers["location"] == f"/bills/{order.id}"
    assert "医保平台拒绝" in (await client.get(f"/bills/{order.id}")).text
    assert await _settlements(session, order) == []
    assert (await reloaded(session, Order, order.id)).status == "pending"


async def test_the_platforms_silence_says_try_again_and_paying_again_completes_it(
    client, session, clock
):
    order = await _insured_order(
        session, clock, insurance_number=new_insurance_number(last_digit=8)
    )
    await _signed_in_payer(session, client, clock, order)
    waiting = await _pay(client, order, INSURANCE)
    assert waiting.headers["location"] == f"/bills/{order.id}"
    page = await client.get(f"/bills/{order.id}")
    assert "医保平台未及时响应" in page.text  # the notice: try again
    assert "医保平台尚未确认本次结算" in page.text  # the split is the pending settlement's
    assert 'name="use_insurance"' not in page.text
    [pending] = await _settlements(session, order)
    assert pending.status == "pending"  # kept, with its holds

    paying = await _pay(client, order, {})
    assert paying.headers["location"].startswith("/billing/sandbox/pay/")
    [settled] = await _settlements(session, order)
    assert (settled.id, settled.status) == (pending.id, "settled")


async def test_a_bill_without_coverage_offers_no_insurance(client, session, clock):
    order = await make_order(session, clock=clock)
    await _signed_in_payer(session, client, clock, order)
    page = await client.get(f"/bills/{order.id}")
    assert 'name="use_insurance"' not in page.text
    assert "支付 ¥89.00" in page.text


async def test_someone_elses_bill_cannot_be_previewed(client, session, clock):
    order = await _insured_order(session, clock)
    stranger = await make_account(session, clock=clock)
    await sign_in_as(session, client, account=stranger, clock=clock)
    answer = await _post(client, f"/bills/{order.id}/checkout/preview", INSURANCE)
    assert answer.status_code == 404


@pytest.mark.parametrize("path", ["/bills/{id}/checkout/preview", "/bills/{id}/pay"])
async def test_a_doctor_may_not_check_out(client, session, clock, path):
    order = await _insured_order(session, clock)
    await sign_in(session, client, clock=clock, role="doctor")
    answer = await _post(
        client, path.format(id=order.id), {"channel": "sandbox", "idempotency_key": "x"}
    )
    assert answer.status_code == 403
