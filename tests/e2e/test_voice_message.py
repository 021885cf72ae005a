"""A voice message recorded in a real browser: Chromium's MediaRecorder (with its fake
microphone) records while the patient holds the chat's voice button (_voice_recorder.html);
the clip is uploaded, measured by the server and sent as a message of kind ``voice``."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select

from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.workstation import accept_consultation
from ihospital.core.clock import Clock
from tests.consultation.builders import doctor_actor, make_practice, start
from tests.e2e.conftest import CHROMIUM_ARGS, in_live_database
from tests.e2e.test_patient_journey import PASSWORD, _sign_in
from tests.identity.builders import make_account, make_patient

pytestmark = pytest.mark.browser
FAKE_MICROPHONE = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture
async def voice_consultation(live_server) -> tuple[str, int]:
    """A patient account's mobile and its 语音 consultation, accepted by the doctor."""

    async def build(session):
        clock = Clock()
        practice = await make_practice(session, clock=clock, fee_fen=0)
        account = await make_account(session, password=PASSWORD, clock=clock)
        person = await make_patient(session, account=account, name="王建国", clock=clock)
        consultation = await start(session, clock, practice, person, consultation_type="voice")
        await accept_consultation(
            session, doctor_actor(clock, practice.doctor), consultation_id=consultation.id
        )
        return account.mobile, consultation.id

    return await in_live_database(live_server, build)


def test_a_held_button_records_and_sends_a_voice_message(live_server, voice_consultation, chromium):
    mobile, consultation_id = voice_consultation
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS + FAKE_MICROPHONE
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            _sign_in(page, live_server, mobile)
            page.goto(f"{live_server.url}/consultations/{consultation_id}")
            button = page.get_by_role("button", name="按住说话")
            expect(button).to_be_visible()
            button.hover()
            page.mouse.down()
            expect(page.locator(".voice-status")).to_contain_text("正在录音")
            page.wait_for_timeout(2500)  # speaking
            page.mouse.up()
            expect(page.locator(".voice-status")).to_have_text("语音消息已发送。")
        finally:
            context.close()
            browser.close()

    async def voice_messages(session):
        found = await session.scalars(
            select(ConsultationMessage).where(
                ConsultationMessage.consultation_id == consultation_id,
                ConsultationMessage.kind == "voice",
            )
        )
        return list(found)

    with ThreadPoolExecutor(1) as pool:  # this thread's loop belongs to the test session
        [message] = pool.submit(asyncio.run, in_live_database(live_server, voice_messages)).result()
    assert message.sender_role == "patient" and message.file_id is not None
    assert 1500 <= message.duration_ms <= 4000
