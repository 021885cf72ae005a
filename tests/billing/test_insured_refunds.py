"""Refunding and giving up bills settled with medical insurance: the settlement is reversed and
what is left settled again, the fund and the personal account get their part back, only the rest
goes back to the payer; a cancelled bill gives its settlement back; a settlement the platform did
not answer is completed by a timer. Refusals change nothing.

Terms: 武汉 职工医保 at a 三级 hospital (起付线 ¥700, fund 60 %)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ihospital.billing.checkout import Choice, SettlementPending
from ihospital.billing.insurance.models import Settlement
from ihospital.billing.models import Order, Refund
from ihospital.billing.orders import cancel_order
from ihospital.billing.repository import order_lines
from ihospital.core.context import Actor
from ihospital.errors import Conflict, ServiceUnavailable
from ihospital.identity.models import Account
from ihospital.outbox.models import OutboxEvent
from tests.billing.builders import (
    assert_ledger_sound,
    deliver,
    new_key,
    payer,
    refund_bill,
    reloaded,
    run_outbox,
    sandbox,
)
from tests.billing.insurance.builders import new_insurance_number, year_position
from tests.billing.test_checkout import DRUG_A, DRUG_C, FOLLOW_UP, _confirm, _insured_order
from tests.identity.builders import CIPHER, auth_headers, make_account
from tests.web.builders import sign_in_as


async def _paid(session, clock, platform, *, lines=(FOLLOW_UP, DRUG_A), balance=0, account=False):
    """An insured bill, settled and its cash part paid; answers it with its finance actor."""
    provider = sandbox(clock)
    order = await _insured_order(session, clock, lines=lines, balance=balance)
    choice = Choice(use_insurance=True, use_personal_account=account)
    outcome = await _confirm(session, clock, order, platform, provider, choice)
    if outcome.payment is not None:
        [delivery] = await provider.pay(outcome.payment.pay_url.rsplit("/", 1)[1])
        assert await deliver(session, clock, provider, delivery.body) == "paid"
    admin = await make_account(
        session, role="institution_admin", institution_id=order.institution_id
    )
    actor = Actor(
        role="institution_admin",
        clock=clock,
        account_id=admin.id,
        institution_id=order.institution_id,
    )
    return await reloaded(session, Order, order.id), actor


async def _settlements(session, order) -> list[Settlement]:
    rows = await session.scalars(
        select(Settlement)
        .where(Settlement.order_id == order.id)
        .order_by(Settlement.id)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def _totals(session, order) -> tuple[int, int, int]:
    return await year_position(session, patient_id=order.patient_id)


async def test_a_full_refund_reverses_the_settlement_and_returns_each_part_to_its_payer(
    session, clock, platform
):
    order, admin = await _paid(session, clock, platform, balance=10_000, account=True)
    assert (order.insured_fen, await _totals(session, order)) == (31_000, (70_000, 21_000, 0))

    refund = await refund_bill(
        session, admin, order_id=order.id, amount_fen=105_000, platform=platform
    )

    assert (refund.amount_fen, refund.insured_fen, refund.status) == (74_000, 31_000, "pending")
    [settlement] = await _settlements(session, order)
    assert (settlement.status, refund.settlement_id) == ("reversed", settlement.id)
    assert (await platform.query(settlement_no=settlement.settlement_no)).state == "reversed"
    assert await _totals(session, order) == (0, 0, 10_000)
    order = await reloaded(session, Order, order.id)
    assert (order.status, order.refunded_fen, order.insured_fen) == ("refunded", 105_000, 0)
    balances = await assert_ledger_sound(session)
    assert balances.get(("insurance_fund", "420100"), 0) == 0
    assert balances.get(("insurance_fund", "acct:420100"), 0) == 0
    assert balances[("refunds_payable", "sandbox")] == -74_000
    assert balances.get(("patient", str(order.patient_id)), 0) == 0


async def test_a_partial_refund_settles_the_rest_again_under_the_deductible(
    session, clock, platform
):
    order, admin = await _paid(session, clock, platform)  # fund 21 000, cash 84 000
    [drug] = [line for line in await _lines(session, order) if line.kind == "drug"]

    first = await refund_bill(
        session, admin, order_id=order.id, amount_fen=50_000, line_id=drug.id, platform=platform
    )

    # what is left (¥550) is all under the deductible: the fund pays nothing any more
    assert (first.amount_fen, first.insured_fen) == (29_000, 21_000)
    old, new = await _settlements(session, order)
    assert (old.status, new.status) == ("reversed", "settled")
    assert (new.medfee_sumamt, new.act_pay_dedc, new.hifp_pay) == (55_000, 55_000, 0)
    assert await _totals(session, order) == (55_000, 0, 0)
    order = await reloaded(session, Order, order.id)
    assert (order.status, order.insured_fen) == ("partially_refunded", 0)

    second = await refund_bill(
        session, admin, order_id=order.id, amount_fen=55_000, platform=platform
    )
    assert (second.amount_fen, second.insured_fen, second.settlement_id) == (55_000, 0, new.id)
    assert [s.status for s in await _settlements(session, order)] == ["reversed", "reversed"]
    assert await _totals(session, order) == (0, 0, 0)
    with pytest.raises(Conflict) as refused:
        await refund_bill(session, admin, order_id=order.id, amount_fen=1, platform=platform)
    assert refused.value.code == "billing.order_not_refundable"
    balances = await assert_ledger_sound(session)
    assert balances[("refunds_payable", "sandbox")] == -84_000
    assert balances.get(("insurance_fund", "420100"), 0) == 0


async def test_refunding_an_unclaimed_line_leaves_the_settlement_alone(session, clock, platform):
    order, admin = await _paid(session, clock, platform, lines=(FOLLOW_UP, DRUG_A, DRUG_C))
    [class_c] = [line for line in await _lines(session, order) if line.drug_class == "C"]
    refund = await refund_bill(
        session, admin, order_id=order.id, amount_fen=2_000, line_id=class_c.id, platform=platform
    )
    assert (refund.amount_fen, refund.insured_fen, refund.settlement_id) == (2_000, 0, None)
    assert [s.status for s in await _settlements(session, order)] == ["settled"]
    assert (await reloaded(session, Order, order.id)).insured_fen == 21_000
    await assert_ledger_sound(session)


async def test_a_bill_insurance_paid_entirely_is_refunded_without_the_provider(
    session, clock, platform
):
    order, admin = await _paid(
        session, clock, platform, lines=(FOLLOW_UP,), balance=100_000, account=True
    )
    assert order.payment_id is None
    refund = await refund_bill(
        session, admin, order_id=order.id, amount_fen=5_000, platform=platform
    )
    assert (refund.payment_id, refund.amount_fen, refund.insured_fen) == (None, 0, 5_000)
    assert refund.status == "succeeded"
    assert await _totals(session, order) == (0, 0, 100_000)
    executions = await session.scalar(
        select(func.count())
        .select_from(OutboxEvent)
        .where(OutboxEvent.topic == "billing.refund_execute")
    )
    assert executions == 0
    assert (await assert_ledger_sound(session)).get(("insurance_fund", "acct:420100"), 0) == 0


@pytest.mark.parametrize(
    ("operation", "failure", "code"),
    [
        ("reverse", "timeout", "insurance.platform_unavailable"),
        ("reverse", "rejected", "insurance.platform_rejected"),
        ("settle", "rejected", "billing.insured_refund_rejected"),
    ],
)
async def test_a_platform_that_fails_the_refund_changes_nothing(
    session, clock, platform, operation, failure, code
):
    order, admin = await _paid(session, clock, platform)
    [drug_id] = [line.id for line in await _lines(session, order) if line.kind == "drug"]
    order_id = order.id
    before = await assert_ledger_sound(session)
    platform.fail_next(operation, failure)
    with pytest.raises((ServiceUnavailable, Conflict)) as refused:
        async with session.begin_nested():
            await refund_bill(
                session,
                admin,
                order_id=order_id,
                amount_fen=10_000,
                line_id=drug_id,
                platform=platform,
            )
    assert refused.value.code == code
    assert await session.scalar(select(func.count()).select_from(Refund)) == 0
    assert [s.status for s in await _settlements(session, order)] == ["settled"]
    assert await _totals(session, order) == (70_000, 21_000, 0)
    assert await assert_ledger_sound(session) == before
    # the institution tries again once the platform answers
    refund = await refund_bill(
        session, admin, order_id=order_id, amount_fen=10_000, line_id=drug_id, platform=platform
    )
    assert refund.amount_fen + refund.insured_fen == 10_000
    await assert_ledger_sound(session)


async def test_cancelling_a_settled_unpaid_bill_gives_the_settlement_back(session, clock, platform):
    order = await _insured_order(session, clock, balance=20_000)
    choice = Choice(use_insurance=True, use_personal_account=True)
    await _confirm(session, clock, order, platform, sandbox(clock), choice)
    assert await _totals(session, order) == (70_000, 21_000, 0)

    await cancel_order(
        session, payer(clock, order), order_id=order.id, platform=platform, cipher=CIPHER
    )

    order = await reloaded(session, Order, order.id)
    assert (order.status, order.insured_fen) == ("cancelled", 0)
    assert [s.status for s in await _settlements(session, order)] == ["reversed"]
    assert await _totals(session, order) == (0, 0, 20_000)


async def test_a_settlement_the_platform_did_not_answer_is_completed_by_its_timer(
    session_factory, clock, platform
):
    async with session_factory() as setup, setup.begin():
        order = await _insured_order(
            setup, clock, insurance_number=new_insurance_number(last_digit=8)
        )
        with pytest.raises(SettlementPending):
            await _confirm(
                setup, clock, order, platform, sandbox(clock), Choice(use_insurance=True)
            )
    async with session_factory() as check:
        [pending] = await _settlements(check, order)
    assert pending.status == "pending"

    await run_outbox(
        session_factory,
        clock,
        {"sandbox": sandbox(clock)},
        advance=timedelta(seconds=31),
        platform=platform,
    )

    async with session_factory() as check:
        [settled] = await _settlements(check, order)
        assert (settled.status, settled.platform_reference) == (
            "settled",
            (await platform.query(settlement_no=settled.settlement_no)).reference,
        )
        # the payer comes back and pays the cash part of the completed settlement
        outcome = await _confirm(check, clock, order, platform, sandbox(clock), Choice(True))
        assert outcome.payment.amount_fen == 86_000


async def test_the_refund_api_answers_both_parts_to_finance_staff_only(
    session, client, clock, platform, app
):
    app.state.insurance_platform = platform
    order, admin = await _paid(session, clock, platform)
    staff = await session.get(Account, admin.account_id)
    headers = await auth_headers(session, account=staff, clock=clock)
    owner = await auth_headers(
        session, account=await session.get(Account, order.account_id), clock=clock
    )
    url = f"/api/billing/orders/{order.id}/refunds"
    body = {"amount": "1050.00", "idempotency_key": new_key()}
    assert (await client.post(url, json=body, headers=owner)).status_code == 403
    answer = await client.post(url, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    assert (answer.json()["amount_fen"], answer.json()["insured_fen"]) == (84_000, 21_000)
    again = await client.post(url, json=body, headers=headers)
    assert again.json()["id"] == answer.json()["id"]


async def _lines(session, order):
    return await order_lines(session, order.id)


async def test_the_bill_page_shows_what_went_back_to_the_payer_and_to_insurance(
    session, client, clock, platform
):
    order, admin = await _paid(session, clock, platform)
    owner = await session.get(Account, order.account_id)
    await sign_in_as(session, client, account=owner, clock=clock)
    page = (await client.get(f"/bills/{order.id}")).text
    assert "个人支付" in page and "¥840.00" in page  # the receipt: insurance paid ¥210.00
    await refund_bill(session, admin, order_id=order.id, amount_fen=105_000, platform=platform)
    page = (await client.get(f"/bills/{order.id}")).text
    assert "退还您 ¥840.00，退回医保 ¥210.00" in page
