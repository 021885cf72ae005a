"""Checking out with medical insurance in a real browser: ticking the personal account refreshes
the split in place (htmx, no page load), and paying takes the payer to the provider for the cash
part only.

Terms: 武汉 职工医保 at a 三级 hospital (起付线 ¥700, fund 60 %); the bill is a follow-up visit
¥50 and two 甲类 drugs ¥1,000; the personal account holds ¥100."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from ihospital.core.clock import Clock
from ihospital.db import make_engine, make_sessionmaker
from tests.billing.builders import make_order
from tests.billing.insurance.builders import make_coverage
from tests.billing.test_checkout import DRUG_A, FOLLOW_UP
from tests.directory.builders import make_institution
from tests.e2e.test_patient_journey import PASSWORD, _sign_in
from tests.identity.builders import make_account, make_patient

pytestmark = pytest.mark.browser


@pytest.fixture
async def insured_bill(live_server) -> tuple[str, int]:
    """The mobile number of a patient account whose insured 就诊人 has an unpaid bill, and the
    bill's id, written to the live server's database."""
    engine = make_engine(live_server.app.state.settings.effective_database_url())
    clock = Clock()
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            account = await make_account(session, password=PASSWORD, clock=clock)
            patient = await make_patient(session, account=account, clock=clock)
            await make_coverage(
                session,
                patient=patient,
                clock=clock,
                account_balance_fen=10_000,
                valid_from=date(clock.today_local().year, 1, 1),
            )
            institution = await make_institution(
                session, clock=clock, region_code="420102", region_name="武汉市江岸区"
            )
            order = await make_order(
                session,
                clock=clock,
                patient=patient,
                institution=institution,
                lines=(FOLLOW_UP, DRUG_A),
                hold_minutes=60,
            )
        return account.mobile, order.id
    finally:
        await engine.dispose()


def test_the_split_refreshes_in_place_and_only_the_cash_part_is_paid(
    live_server, insured_bill, browser_page: Page
):
    # the bill is written before the browser starts: Playwright runs an event loop of its own
    page, (mobile, order_id) = browser_page, insured_bill
    _sign_in(page, live_server, mobile)
    page.goto(f"{live_server.url}/bills/{order_id}")
    expect(page.get_by_label("使用医保支付")).to_be_checked()
    expect(page.get_by_role("button", name="支付 ¥840.00")).to_be_visible()

    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("使用个人账户支付（余额 ¥100.00）").check()
    expect(page.get_by_role("button", name="支付 ¥740.00")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage === true"), "the page was loaded again"
    expect(page.get_by_label("使用个人账户支付（余额 ¥100.00）")).to_be_checked()

    page.get_by_role("button", name="支付 ¥740.00").click()
    expect(page).to_have_url(re.compile(r"/billing/sandbox/pay/"))
    expect(page.locator("main")).to_contain_text("¥740.00")
