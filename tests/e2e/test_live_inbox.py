"""The inbox in a real browser shows a new 站内信 without a reload: the outbox worker inside the
app delivers it, and the page's WebSocket brings it in, ready to be marked as read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.notifications.service import notify
from tests.e2e.conftest import LiveServer, live_settings, serving
from tests.e2e.test_patient_journey import PASSWORD, _sign_in
from tests.identity.builders import make_account

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def worker_server(databases, tmp_path_factory) -> AsyncIterator[LiveServer]:
    """A served app with its outbox worker inside, polling often."""
    path = tmp_path_factory.mktemp("live-inbox")
    settings = live_settings(path, await databases.fresh(), worker_poll_seconds=0.2)
    async with serving(settings, worker=True) as server:
        yield server


def _database(server: LiveServer):
    return make_engine(server.app.state.settings.effective_database_url())


@pytest.fixture
async def patient(worker_server) -> tuple[str, int]:
    """The mobile number and id of a patient account in the served app's database."""
    engine = _database(worker_server)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            account = await make_account(session, password=PASSWORD, clock=Clock())
        return account.mobile, account.id
    finally:
        await engine.dispose()


def _notify(server: LiveServer, account_id: int) -> None:
    """Notify the account as another process would: a committed outbox event, nothing more."""

    async def write() -> None:
        engine = _database(server)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                await notify(
                    session,
                    Actor.system(Clock()),
                    account_id=account_id,
                    kind="system",
                    title="Messages",
                    body="{count} unread",
                    link="/appointments",
                    fields={"count": 7},
                )
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:  # this test's thread runs the browser's event loop
        pool.submit(asyncio.run, write()).result()


def test_a_new_message_appears_on_the_open_inbox(worker_server, patient, browser_page: Page):
    page, (mobile, account_id) = browser_page, patient
    _sign_in(page, worker_server, mobile)
    page.goto(f"{worker_server.url}/inbox")
    expect(page.locator("#inbox-empty")).to_be_visible()

    _notify(worker_server, account_id)
    item = page.locator("ul.inbox li").first
    expect(item).to_contain_text("7 条未读")
    expect(item.get_by_role("link", name="消息")).to_have_attribute("href", "/appointments")
    expect(page.locator("#inbox-summary")).to_contain_text("1")
    expect(page.locator("#inbox-empty")).to_have_count(0)

    # The live item's form works as a served one does (its CSRF field included).
    item.get_by_role("button", name="标为已读", exact=True).click()
    expect(page).to_have_url(f"{worker_server.url}/inbox")
    expect(page.locator("ul.inbox li.read")).to_have_count(1)
    expect(page.locator("ul.inbox li.read")).to_contain_text("7 条未读")
