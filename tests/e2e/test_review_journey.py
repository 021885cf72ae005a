"""Rating a consultation in a real browser: the patient opens a closed consultation, picks the
stars and a tag with large buttons, writes a few words with a phone number, and sends the
review; the phone number is hidden and the doctor's profile shows the rating."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ihospital.core.clock import Clock
from ihospital.db import make_engine, make_sessionmaker
from tests.consultation.builders import make_practice
from tests.consultation.reviews.builders import closed
from tests.e2e.test_patient_journey import PASSWORD, _sign_in
from tests.identity.builders import make_account, make_patient

pytestmark = pytest.mark.browser


@pytest.fixture
async def closed_consultation(live_server) -> tuple[str, int, int]:
    """The mobile number of a patient account, its closed consultation and the doctor's id."""
    engine = make_engine(live_server.app.state.settings.effective_database_url())
    clock = Clock()
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            practice = await make_practice(session, clock=clock, fee_fen=0)
            account = await make_account(session, password=PASSWORD, clock=clock)
            patient = await make_patient(session, account=account, name="王建国", clock=clock)
            consultation = await closed(session, clock, practice, patient)
        return account.mobile, consultation.id, practice.doctor.id
    finally:
        await engine.dispose()


def test_a_patient_rates_a_closed_consultation(
    live_server, closed_consultation, browser_page: Page
):
    page, (mobile, consultation_id, doctor_id) = browser_page, closed_consultation
    _sign_in(page, live_server, mobile)
    page.goto(f"{live_server.url}/consultations/{consultation_id}")
    page.get_by_label("5 星").check()
    page.get_by_label("讲解清晰").check()
    page.get_by_label("您的评价内容（可选）").fill("很耐心，我的电话是13912345678")
    page.get_by_role("button", name="提交评价").click()

    expect(page.locator(".notices")).to_contain_text("感谢您的评价")
    expect(page.locator("main")).to_contain_text("139****5678")
    expect(page.locator("main")).not_to_contain_text("13912345678")
    page.goto(f"{live_server.url}/doctors/{doctor_id}")
    expect(page.locator(".rating-summary")).to_contain_text("5.0 星（满分 5 星），共 1 条评价")
