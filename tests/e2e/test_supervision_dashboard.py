"""The supervision dashboard in a real browser: the regulator's page draws its four charts with
ECharts from the JSON in the page, without a script error, beside the tables of the same
numbers."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from ihospital.core.clock import Clock
from tests.e2e.test_command_board import _regulator, _run
from tests.e2e.test_patient_journey import _sign_in
from tests.supervision.dashboard_builders import FROM, TO, make_dashboard_world

pytestmark = pytest.mark.browser


async def _seeded_regulator(session) -> str:
    await make_dashboard_world(session, Clock())
    return await _regulator(session, region_code="110000", name="北京市卫健委监管员")


def _console_error(message: ConsoleMessage, errors: list[str]) -> None:
    """Keep the console's errors, except the browser's own request for /favicon.ico."""
    where = message.location.get("url", "")
    if message.type == "error" and not where.endswith("/favicon.ico"):
        errors.append(f"{message.text} ({where})")


def test_the_dashboard_draws_its_charts_without_script_errors(
    live_server, browser_page: Page
) -> None:
    mobile = _run(live_server, _seeded_regulator)
    errors: list[str] = []
    browser_page.on("pageerror", lambda error: errors.append(str(error)))
    browser_page.on("console", lambda message: _console_error(message, errors))
    _sign_in(browser_page, live_server, mobile)
    browser_page.goto(
        f"{live_server.url}/regulator/dashboard?from={FROM.isoformat()}&to={TO.isoformat()}"
    )
    expect(browser_page.get_by_role("heading", name="监管驾驶舱", exact=True)).to_be_visible()
    for chart in ("volumes", "times", "rates", "alerts"):
        canvas = browser_page.locator(f'[data-chart="{chart}"] canvas')
        expect(canvas).to_have_count(1)
        box = canvas.bounding_box()
        assert box is not None and box["height"] >= 300 and box["width"] > 0, chart
    expect(browser_page.locator("table.dashboard-institutions")).to_contain_text("%")
    assert errors == []
