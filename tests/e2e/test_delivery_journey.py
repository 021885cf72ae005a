"""From an approved prescription to a delivered order in a real browser (issue 6, item 7): the
patient buys for delivery (pharmacy, risk notice) and pays at the payment sandbox, the
pharmacist dispenses and ships with the carrier, the sandbox carrier's callbacks arrive through
the outbox worker inside the app, and the patient sees the order delivered with its tracking."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from ihospital.core.clock import Clock
from ihospital.identity.models import Account
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.shipment_tracking import CALLBACK_TOPIC
from tests.e2e.conftest import LiveServer, in_live_database, live_settings, serving
from tests.e2e.test_patient_journey import _sign_in
from tests.identity.builders import DEFAULT_PASSWORD
from tests.pharmacy.order_builders import make_shop

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def worker_server(databases, tmp_path_factory) -> AsyncIterator[LiveServer]:
    """A served app with its outbox worker inside, polling often."""
    path = tmp_path_factory.mktemp("live-delivery")
    settings = live_settings(path, await databases.fresh(), worker_poll_seconds=0.2)
    async with serving(settings, worker=True) as server:
        yield server


@pytest.fixture
async def shop(worker_server) -> tuple[str, str, int, str]:
    """The patient's and the pharmacist's mobile numbers, the approved prescription and the
    pharmacy's name, written to the served app's database."""

    async def write(session):  # noqa: ANN001, ANN202
        built = await make_shop(session, clock=Clock())
        patient = await session.get(Account, built.patient.account_id)
        return patient.mobile, built.pharmacist.mobile, built.prescription.id, built.pharmacy.name

    return await in_live_database(worker_server, write)


def _callbacks_due_now(server: LiveServer) -> None:
    """Make the sandbox carrier send every scheduled callback now (as if its hours passed):
    the worker signs and delivers them to the app's callback endpoint."""

    async def due(session) -> None:  # noqa: ANN001
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.topic == CALLBACK_TOPIC, OutboxEvent.status == "pending")
            .values(available_at=datetime.now(UTC))
        )

    with ThreadPoolExecutor(1) as pool:  # this test's thread runs the browser's event loop
        pool.submit(asyncio.run, in_live_database(server, due)).result()


def _until(page: Page, text: str, *, seconds: float = 30) -> None:
    """Reload the page until it shows ``text`` (the worker moves the order meanwhile)."""
    deadline = time.monotonic() + seconds
    while text not in page.locator("main").inner_text():
        assert time.monotonic() < deadline, f"the page never showed {text!r}"
        time.sleep(0.5)
        page.reload()


def test_an_approved_prescription_is_bought_shipped_and_delivered(
    worker_server, shop, browser_page: Page
):
    page, (patient, pharmacist, prescription_id, pharmacy) = browser_page, shop
    server = worker_server
    _sign_in(page, server, patient, password=DEFAULT_PASSWORD)
    page.goto(f"{server.url}/prescriptions/{prescription_id}/buy")
    page.get_by_label(re.compile(pharmacy)).check()
    page.locator('input[name="fulfilment"][value="delivery"]').check()
    page.locator('input[name="recipient_name"]').fill("王小明")
    page.locator('input[name="recipient_phone"]').fill("13800138000")
    page.locator('[name="address"]').fill("湖北省武汉市洪山区珞喻路1037号")
    page.get_by_label("我已阅读风险提示").check()
    page.get_by_role("button", name="下单并支付").click()
    expect(page).to_have_url(re.compile(r"/pharmacy-orders/\d+$"))
    order_url = page.url
    page.get_by_role("link", name="去支付").click()
    page.get_by_role("button", name=re.compile(r"^支付 ¥")).click()
    expect(page).to_have_url(re.compile(r"/billing/sandbox/pay/"))
    page.get_by_role("button", name="支付", exact=True).click()
    page.goto(order_url)
    _until(page, "已支付，备药中")
    page.get_by_role("button", name="退出登录").click()

    _sign_in(page, server, pharmacist, password=DEFAULT_PASSWORD)
    page.goto(f"{server.url}/pharmacy/orders")
    page.get_by_role("button", name="发药").click()
    page.get_by_role("button", name="交承运商发货").click()
    expect(page.locator("main")).to_contain_text("订单已发货。")
    _callbacks_due_now(server)
    page.get_by_role("button", name="退出登录").click()

    _sign_in(page, server, patient, password=DEFAULT_PASSWORD)
    page.goto(order_url)
    _until(page, "已送达")
    expect(page.locator(".tracking-events li")).to_have_count(4)
    expect(page.locator("#shipment")).to_contain_text("派送中")
