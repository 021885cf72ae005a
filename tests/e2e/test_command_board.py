"""The command centre's board in a real browser: a high-risk pre-screening answered elsewhere
reaches the open board without a click, through the outbox worker inside the app and the page's
WebSocket, and the alert can then be closed with a note from the page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.identity.accounts import create_account
from ihospital.triage.prescreening.questionnaires import published
from ihospital.triage.prescreening.screening import submit
from tests.directory.builders import new_mobile
from tests.e2e.conftest import LiveServer, live_settings, serving
from tests.e2e.test_patient_journey import PASSWORD, _sign_in
from tests.identity.builders import make_patient
from tests.triage.prescreening_builders import HIGH, WUHAN_DISTRICT

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def worker_server(databases, tmp_path_factory) -> AsyncIterator[LiveServer]:
    path = tmp_path_factory.mktemp("command-board")
    settings = live_settings(path, await databases.fresh(), worker_poll_seconds=0.2)
    async with serving(settings, worker=True) as server:
        yield server


def _run(server: LiveServer, work) -> object:
    """Run ``work(session)`` in the served app's database, as another process would."""

    async def write() -> object:
        engine = make_engine(server.app.state.settings.effective_database_url())
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:  # this test's thread runs the browser's event loop
        return pool.submit(asyncio.run, write()).result()


async def _regulator(session, *, region_code: str = "420100", name: str = "指挥中心值班员") -> str:
    """A signed-up regulator of ``region_code`` (their mobile number; password PASSWORD)."""
    account = await create_account(
        session,
        Actor.system(Clock()),
        mobile=new_mobile(),
        password=PASSWORD,
        role="regulator",
        display_name=name,
        region_code=region_code,
        mobile_verified=True,
    )
    return account.mobile


async def _high_risk(session) -> str:
    patient = await make_patient(session, name="赵六", clock=Clock())
    actor = Actor(role="patient", clock=Clock(), account_id=patient.account_id)
    await submit(
        session,
        actor,
        questionnaire_id=(await published(session)).id,
        patient_id=patient.id,
        region_code=WUHAN_DISTRICT,
        answers=HIGH,
    )
    return patient.name


def test_a_high_risk_reaches_the_open_board_and_is_closed_with_a_note(
    worker_server, browser_page: Page
):
    page = browser_page
    _sign_in(page, worker_server, _run(worker_server, _regulator))
    page.goto(f"{worker_server.url}/command-centre")
    expect(page.locator("#board-empty")).to_be_visible()

    name = _run(worker_server, _high_risk)
    expect(page.locator("#board-live")).to_contain_text("420102")
    row = page.locator("tr[data-status=new]").first
    expect(row).to_contain_text(name)  # the board reloaded itself with the new alert

    row.get_by_label("处置情况").fill("已电话联系，已前往发热门诊")
    row.get_by_role("button", name="关闭").click()
    expect(page.locator("tr[data-status=closed]")).to_contain_text("已电话联系")
