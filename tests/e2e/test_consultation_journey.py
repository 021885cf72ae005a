"""Online consultation in real browsers: a patient starts a free 图文 consultation from the
doctor's profile and waits; the doctor, in a second browser page of their own, accepts it from
the workstation queue; the patient's page then shows it in progress."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ihospital.core.clock import Clock
from ihospital.db import make_engine, make_sessionmaker
from ihospital.identity.models import Account
from tests.consultation.builders import make_practice
from tests.directory.builders import PASSWORD as DOCTOR_PASSWORD
from tests.e2e.test_patient_journey import PASSWORD, _sign_in, _sign_in_on_duty
from tests.identity.builders import make_account, make_patient

pytestmark = pytest.mark.browser


@pytest.fixture
async def free_doctor(live_server) -> tuple[str, str, int]:
    """The mobile numbers of a patient account with one 就诊人 and of a doctor who consults for
    free, and the doctor's id, written to the live server's database."""
    engine = make_engine(live_server.app.state.settings.effective_database_url())
    clock = Clock()
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            practice = await make_practice(session, clock=clock, fee_fen=0)
            account = await make_account(session, password=PASSWORD, clock=clock)
            await make_patient(session, account=account, name="王建国", clock=clock)
            doctor = await session.get(Account, practice.doctor.account_id)
        return account.mobile, doctor.mobile, practice.doctor.id
    finally:
        await engine.dispose()


def test_a_patient_starts_a_free_consultation_and_the_doctor_accepts_it(
    live_server, free_doctor, browser_page: Page
):
    page, (patient_mobile, doctor_mobile, doctor_id) = browser_page, free_doctor
    _sign_in(page, live_server, patient_mobile)
    page.goto(f"{live_server.url}/doctors/{doctor_id}")
    page.get_by_role("link", name="在线问诊").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("在线咨询")
    expect(page.get_by_label("就诊人")).to_contain_text("王建国")
    page.get_by_label("问诊类型和费用").select_option(label="图文问诊 · ¥0.00")
    page.get_by_label("哪里不舒服？").fill("血压控制不佳，头晕两天")
    page.get_by_role("button", name="发起问诊").click()

    expect(page.locator(".notices")).to_contain_text("问诊已发送给医生")
    expect(page.locator("main")).to_contain_text("等待医生接诊")
    expect(page.locator(".health-notice")).to_contain_text("健康咨询")
    consultation_url = page.url

    browser = page.context.browser
    assert browser is not None
    doctor_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    doctor_context.set_default_timeout(15_000)
    try:
        desk = doctor_context.new_page()
        _sign_in_on_duty(desk, live_server, doctor_mobile, password=DOCTOR_PASSWORD)
        desk.get_by_role("link", name="在线问诊").click()
        row = desk.locator("table.consultation-queue tbody tr")
        expect(row).to_contain_text("王建国")
        expect(row).to_contain_text("图文问诊")
        row.get_by_role("button", name="接诊").click()
        expect(desk.locator(".notices")).to_contain_text("您已接诊")
        expect(desk.get_by_role("heading", level=1)).to_contain_text("王建国的问诊")
        expect(desk.locator("main")).to_contain_text("血压控制不佳，头晕两天")
    finally:
        doctor_context.close()

    page.goto(consultation_url)
    expect(page.locator("main")).to_contain_text("医生已接诊")
