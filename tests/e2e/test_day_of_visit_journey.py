"""The day of the visit in a real browser: the patient checks in (签到) from 我的预约 and gets a
queue number; the doctor finds them, highlighted as the next to call, on the day list and marks
them attended in place."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from ihospital.booking.appointments import book_slot
from ihospital.core.clock import Clock, to_local
from ihospital.db import make_engine, make_sessionmaker
from ihospital.directory.models import Practitioner
from ihospital.identity.models import Account
from tests.booking.builders import booker, make_clinic, make_session, new_key
from tests.directory.builders import PASSWORD as DOCTOR_PASSWORD
from tests.e2e.test_patient_journey import PASSWORD, _sign_in
from tests.identity.builders import make_account, make_patient

pytestmark = pytest.mark.browser


def _soon(now: datetime) -> datetime:
    """A local start 5 to 15 minutes from ``now`` on a 10-minute mark, inside the check-in
    window; never 23:50, whose 10-minute slot would end on the next day."""
    start = (now + timedelta(minutes=15)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 10)
    if (start.hour, start.minute) == (23, 50):
        start += timedelta(minutes=10)
    return start


def _half_day(start: datetime) -> str:
    return "morning" if start.hour < 12 else "afternoon" if start.hour < 17 else "evening"


@pytest.fixture
async def visit_soon(live_server) -> tuple[str, str, str]:
    """A patient account (mobile) whose 就诊人 is booked with a doctor (mobile) in a slot about
    to begin, and the local day of that session."""
    engine = make_engine(live_server.app.state.settings.effective_database_url())
    clock = Clock()
    start = _soon(to_local(clock.now()))
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            clinic = await make_clinic(session, clock=clock)
            view = await make_session(
                session,
                clinic,
                clock=clock,
                day=start.date(),
                half_day=_half_day(start),
                start_time=start.time(),
                end_time=(start + timedelta(minutes=10)).time(),
                capacity=1,
            )
            account = await make_account(session, password=PASSWORD, clock=clock)
            patient = await make_patient(session, account=account, name="王建国", clock=clock)
            await book_slot(
                session,
                booker(clock, patient),
                slot_id=view.slots[0].id,
                patient_id=patient.id,
                idempotency_key=new_key(),
            )
            practitioner = await session.get(Practitioner, clinic.practitioner_id)
            doctor = await session.get(Account, practitioner.account_id)
        return account.mobile, doctor.mobile, start.date().isoformat()
    finally:
        await engine.dispose()


def test_a_patient_checks_in_and_the_doctor_marks_them_attended(
    live_server, visit_soon, browser_page: Page
):
    page, (patient_mobile, doctor_mobile, day) = browser_page, visit_soon
    _sign_in(page, live_server, patient_mobile)
    page.get_by_role("link", name="我的预约").click()
    page.get_by_role("button", name="签到").click()
    expect(page.locator(".notices")).to_contain_text("签到成功：您排第 1 号")
    expect(page.locator(".checked-in")).to_contain_text("已签到：第 1 号。 请到以下地点候诊")
    page.get_by_role("button", name="退出登录").click()

    _sign_in(page, live_server, doctor_mobile, password=DOCTOR_PASSWORD)
    page.get_by_role("link", name="今日患者").click()
    page.get_by_label("日期").fill(day)
    page.get_by_role("button", name="查看该日").click()
    expect(page.locator(".next-patient")).to_contain_text("下一位：1 号 王建国")
    row = page.locator("tr.queue-next")
    expect(row).to_contain_text("王建国")
    expect(row).to_contain_text("已签到")
    url = page.url
    row.get_by_role("button", name="已就诊").click()
    expect(page.locator("#day-list .notices")).to_contain_text("已标记为已就诊")
    expect(page.locator("main tbody")).to_contain_text("已就诊")
    expect(page.locator("tr.queue-next")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("目前没有已签到候诊的患者")
    assert page.url == url  # marked in place, without leaving the page
