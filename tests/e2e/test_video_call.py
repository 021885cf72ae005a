"""A video consultation's call in real browsers: the doctor and the patient, each in a browser
context of their own with Chromium's fake camera and microphone, open the video page served from
127.0.0.1 (a secure context); the doctor calls, the patient answers, both peer connections
connect (host candidates only: no ICE servers configured), the doctor hangs up, and the call is
recorded with its duration."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select

from ihospital.consultation.call_models import ConsultationCall
from ihospital.core.clock import Clock
from ihospital.db import make_engine, make_sessionmaker
from ihospital.identity.models import Account
from tests.consultation.builders import in_progress, make_practice
from tests.directory.builders import PASSWORD as DOCTOR_PASSWORD
from tests.e2e.conftest import CHROMIUM_ARGS, LiveServer
from tests.e2e.test_patient_journey import PASSWORD, _sign_in, _sign_in_on_duty
from tests.identity.builders import make_account, make_patient

pytestmark = pytest.mark.browser

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",  # a machine whose only interface is loopback
]
CONNECTED_MS = 30_000


@pytest.fixture
async def video_consultation(live_server) -> tuple[str, str, int]:
    """The mobile numbers of a patient account and of its doctor, and the id of their free 视频
    consultation in progress, in the live server's database."""
    engine = make_engine(live_server.app.state.settings.effective_database_url())
    clock = Clock()
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            practice = await make_practice(session, clock=clock, fee_fen=0)
            account = await make_account(session, password=PASSWORD, clock=clock)
            person = await make_patient(session, account=account, name="王建国", clock=clock)
            consultation = await in_progress(
                session, clock, practice, person, consultation_type="video"
            )
            doctor = await session.get(Account, practice.doctor.account_id)
        return account.mobile, doctor.mobile, consultation.id
    finally:
        await engine.dispose()


@pytest.fixture
def media_browser(chromium: str) -> Iterator[Browser]:
    """A browser whose camera and microphone are fake and allowed without asking."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS + MEDIA_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _page(
    browser: Browser, server: LiveServer, mobile: str, password: str, *, doctor: bool = False
) -> Page:
    context = browser.new_context(viewport={"width": 1024, "height": 800}, locale="zh-CN")
    context.set_default_timeout(15_000)
    context.grant_permissions(["camera", "microphone"], origin=server.url)
    page = context.new_page()
    (_sign_in_on_duty if doctor else _sign_in)(page, server, mobile, password=password)
    return page


def _calls(server: LiveServer, consultation_id: int) -> list[ConsultationCall]:
    async def read() -> list[ConsultationCall]:
        engine = make_engine(server.app.state.settings.effective_database_url())
        try:
            async with make_sessionmaker(engine)() as session:
                calls = await session.scalars(
                    select(ConsultationCall).where(
                        ConsultationCall.consultation_id == consultation_id
                    )
                )
                return list(calls)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:  # this test's thread runs the browser's event loop
        return pool.submit(asyncio.run, read()).result()


def test_the_doctor_calls_the_patient_answers_and_the_call_is_recorded(
    live_server, video_consultation, media_browser: Browser
):
    patient_mobile, doctor_mobile, consultation_id = video_consultation
    patient = _page(media_browser, live_server, patient_mobile, PASSWORD)
    doctor = _page(media_browser, live_server, doctor_mobile, DOCTOR_PASSWORD, doctor=True)

    patient.goto(f"{live_server.url}/consultations/{consultation_id}")
    patient.get_by_role("link", name="视频通话").click()
    patient_call = patient.locator("#video-call")
    expect(patient.locator("#call-status")).to_have_text("等待医生发起视频通话。")
    doctor.goto(f"{live_server.url}/doctor/consultations/{consultation_id}")
    doctor.get_by_role("link", name="视频通话").click()
    doctor_call = doctor.locator("#video-call")
    start = doctor.get_by_role("button", name="发起视频通话")
    expect(start).to_be_enabled()
    assert doctor.evaluate("window.isSecureContext") is True

    start.click()
    expect(patient.locator("#call-status")).to_have_text("医生正在呼叫您。")
    patient.get_by_role("button", name="接听").click()
    for call in (doctor_call, patient_call):
        expect(call).to_have_attribute("data-connection-state", "connected", timeout=CONNECTED_MS)
        expect(call).to_have_attribute("data-call-state", "connected")
    patient.wait_for_function(
        "document.getElementById('remote-video').videoWidth > 0", timeout=CONNECTED_MS
    )
    (open_call,) = _calls(live_server, consultation_id)
    assert open_call.ended_at is None

    doctor.get_by_role("button", name="挂断").click()
    expect(patient_call).to_have_attribute("data-call-state", "ended")
    expect(patient.locator("#call-status")).to_have_text("通话已结束。")
    expect(doctor_call).to_have_attribute("data-connection-state", "closed")

    (call,) = _calls(live_server, consultation_id)
    assert call.ended_by == "doctor" and call.duration_seconds is not None
    assert call.duration_seconds == int((call.ended_at - call.started_at).total_seconds())
    doctor.reload()
    row = doctor.locator("table.calls tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{call.duration_seconds % 60} 秒")
    expect(row).to_contain_text("医生")
    messages = patient.request.get(
        f"{live_server.url}/api/consultations/{consultation_id}/messages"
    ).json()
    assert messages[-1]["text"].startswith("视频通话已结束，时长 ")
