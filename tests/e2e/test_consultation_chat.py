"""The consultation chat live in real browsers: the patient's page and the doctor's page, in two
browser contexts, exchange messages over the consultation's WebSocket; each sees the other's
message without a reload, the doctor sees the patient typing, and the patient's message shows
as read once the doctor's page has it in view."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ihospital.core.clock import Clock
from ihospital.identity.models import Account
from tests.consultation.builders import doctor_actor, make_practice, start
from tests.directory.builders import PASSWORD as DOCTOR_PASSWORD
from tests.e2e.conftest import in_live_database
from tests.e2e.test_patient_journey import PASSWORD, _sign_in, _sign_in_on_duty
from tests.identity.builders import make_account, make_patient

pytestmark = pytest.mark.browser


@pytest.fixture
async def accepted(live_server) -> tuple[str, str, int]:
    """The mobile numbers of a patient account and of the doctor who accepted its free text
    consultation, and the consultation's id, written to the live server's database."""
    from ihospital.consultation.workstation import accept_consultation

    async def build(session):
        clock = Clock()
        practice = await make_practice(session, clock=clock, fee_fen=0)
        account = await make_account(session, password=PASSWORD, clock=clock)
        person = await make_patient(session, account=account, name="王建国", clock=clock)
        consultation = await start(session, clock, practice, person)
        await accept_consultation(
            session, doctor_actor(clock, practice.doctor), consultation_id=consultation.id
        )
        doctor = await session.get(Account, practice.doctor.account_id)
        return account.mobile, doctor.mobile, consultation.id

    return await in_live_database(live_server, build)


def test_patient_and_doctor_chat_live(live_server, accepted, browser_page: Page):
    page, (patient_mobile, doctor_mobile, consultation_id) = browser_page, accepted
    _sign_in(page, live_server, patient_mobile)
    page.goto(f"{live_server.url}/consultations/{consultation_id}")
    expect(page.locator("#chat")).to_contain_text("医生已接诊。")

    browser = page.context.browser
    assert browser is not None
    doctor_context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    doctor_context.set_default_timeout(15_000)
    try:
        desk = doctor_context.new_page()
        _sign_in_on_duty(desk, live_server, doctor_mobile, password=DOCTOR_PASSWORD)
        desk.goto(f"{live_server.url}/doctor/consultations/{consultation_id}")
        expect(desk.locator("#chat")).to_contain_text("医生已接诊。")
        for each in (page, desk):
            each.evaluate("window.notReloaded = true")  # gone if the page reloads

        page.get_by_label("您的消息").press_sequentially("我头晕")
        expect(desk.locator(".chat-typing")).to_contain_text("患者正在输入")
        page.get_by_label("您的消息").fill("我头晕两天了，血压 150/95")
        page.get_by_role("button", name="发送", exact=True).click()
        mine = page.locator("li.chat-message.mine").last
        expect(mine).to_contain_text("我头晕两天了")
        expect(desk.locator("li.from-patient").last).to_contain_text("血压 150/95")
        expect(mine.locator(".chat-receipt")).to_have_text("已读")  # the doctor's page has it

        desk.get_by_role("button", name="请告诉我您现在所用药物的名称和剂量。").click()
        expect(desk.get_by_label("您的消息")).to_have_value("请告诉我您现在所用药物的名称和剂量。")
        desk.get_by_role("button", name="发送", exact=True).click()
        expect(page.locator("li.from-doctor").last).to_contain_text("所用药物的名称和剂量")
        expect(desk.locator("li.mine .chat-receipt").last).to_have_text("已读")
        assert page.evaluate("window.notReloaded") and desk.evaluate("window.notReloaded")
    finally:
        doctor_context.close()
