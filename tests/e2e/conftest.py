"""Browser tests: the real app served by uvicorn on loopback, driven by Debian's Chromium.

The server runs in a background thread on a free 127.0.0.1 port over a fresh migrated database,
with plain-http cookies and the sandbox SMS gateway (tests read the codes it "sent"). Without
/usr/bin/chromium the browser tests are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Page, sync_playwright

from ihospital.app import create_app
from ihospital.config import Settings
from ihospital.db import make_engine, make_sessionmaker
from tests.conftest import TestDatabases, make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: FastAPI

    def sms_code_for(self, mobile: str) -> str:
        """The digits of the last text the sandbox gateway delivered to ``mobile``."""
        texts = [text for to, text in self.app.state.sms_sender.sent.values() if to == mobile]
        assert texts, f"no text message was sent to {mobile}"
        return "".join(char for char in texts[-1] if char.isdigit())


@pytest.fixture(scope="session")
def chromium() -> str:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does, as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return str(CHROMIUM)


@asynccontextmanager
async def serving(settings: Settings, *, worker: bool = False) -> AsyncIterator[LiveServer]:
    """The app built from ``settings`` (with an outbox worker inside when ``worker``), served by
    uvicorn in a background thread on a free loopback port."""
    app = create_app(settings, worker=worker)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        await asyncio.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listener.close()


def live_settings(path: Path, database_url: str, **overrides: object) -> Settings:
    """Settings of a served test app: plain-http cookies and the sandbox SMS gateway."""
    return make_settings(path, database_url, cookie_secure=False, sms_sender="sandbox", **overrides)


@pytest.fixture(scope="session")
async def live_server(
    databases: TestDatabases, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveServer]:
    settings = live_settings(tmp_path_factory.mktemp("live"), await databases.fresh())
    async with serving(settings) as server:
        yield server


@pytest.fixture
def browser_page(chromium: str) -> Iterator[Page]:
    """A fresh phone-sized page in a new browser (nothing shared between tests)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


async def in_live_database(live_server, work):
    """``await work(session)`` in one committed transaction on the live server's database."""
    engine = make_engine(live_server.app.state.settings.effective_database_url())
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()
