"""Booking in a real browser: from the doctor's profile to the schedule, pick a slot, confirm it
for the account's 就诊人, see it under 我的预约 and cancel it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from ihospital.core.clock import Clock
from ihospital.db import make_engine, make_sessionmaker
from tests.booking.builders import make_clinic, make_session
from tests.e2e.test_patient_journey import PASSWORD, _sign_in
from tests.identity.builders import make_account, make_patient

pytestmark = pytest.mark.browser


@pytest.fixture
async def bookable_doctor(live_server) -> tuple[str, int]:
    """The mobile number of a patient account with one 就诊人, and a doctor with a released
    session the day after tomorrow, written to the live server's database."""
    engine = make_engine(live_server.app.state.settings.effective_database_url())
    clock = Clock()
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            clinic = await make_clinic(session, clock=clock)
            # the day after tomorrow: released, and cancellable until 18:00 the day before
            day = clock.today_local() + timedelta(days=2)
            await make_session(session, clinic, clock=clock, day=day)
            account = await make_account(session, password=PASSWORD, clock=clock)
            await make_patient(session, account=account, name="王建国", clock=clock)
        return account.mobile, clinic.practitioner_id
    finally:
        await engine.dispose()


def test_a_patient_books_a_slot_and_cancels_it(live_server, bookable_doctor, browser_page: Page):
    page, (mobile, practitioner_id) = browser_page, bookable_doctor
    _sign_in(page, live_server, mobile)
    page.goto(f"{live_server.url}/doctors/{practitioner_id}")
    page.get_by_role("link", name="预约挂号").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("预约")
    page.get_by_role("link", name="09:20–09:30 余 1").click()

    expect(page.locator(".slot-time")).to_contain_text("09:20–09:30")
    expect(page.get_by_label("就诊人")).to_contain_text("王建国")
    page.get_by_role("button", name="确认预约").click()

    expect(page).to_have_url(f"{live_server.url}/appointments")
    expect(page.locator(".notices")).to_contain_text("已预约")
    expect(page.locator("main")).to_contain_text("排第 1 号")
    expect(page.locator("main")).to_contain_text("王建国")
    page.get_by_role("button", name="取消预约").click()
    expect(page.locator(".notices")).to_contain_text("预约已取消")
    expect(page.locator("main")).to_contain_text("已取消")
