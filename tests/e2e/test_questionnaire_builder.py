"""The questionnaire editor in a real browser: a platform admin builds a three-question
pre-screening questionnaire from a blank draft with the editor's buttons, sees a mistyped range
refused next to its field, previews and publishes it; a patient then answers the new version and
gets the risk level its points lead to (issue 8, item 5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from ihospital.core.clock import Clock
from ihospital.identity.models import Account
from tests.directory.builders import make_institution
from tests.e2e.conftest import LiveServer, in_live_database, live_settings, serving
from tests.e2e.test_patient_journey import _sign_in
from tests.identity.builders import DEFAULT_PASSWORD, make_account, make_patient

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def builder_server(databases, tmp_path_factory) -> AsyncIterator[LiveServer]:
    settings = live_settings(tmp_path_factory.mktemp("builder"), await databases.fresh())
    async with serving(settings) as server:
        yield server


def _in_database(server: LiveServer, work) -> object:
    with ThreadPoolExecutor(1) as pool:  # this test's thread runs the browser's event loop
        return pool.submit(asyncio.run, in_live_database(server, work)).result()


async def _people(session) -> tuple[str, str]:
    clock = Clock()
    admin = await make_account(
        session, role="platform_admin", display_name="平台管理员", clock=clock
    )
    patient = await make_patient(session, name="孙七", clock=clock)
    await make_institution(
        session,
        clock=clock,
        name="武汉市江岸区人民医院",
        region_code="420102",
        region_name="江岸区",
    )
    account = await session.get(Account, patient.account_id)
    return admin.mobile, account.mobile


def _field(page: Page, name: str):
    return page.locator(f'[name="{name}"]')


def _press(page: Page, action: str) -> None:
    page.locator(f'button[name="action"][value="{action}"]').click()


def _words(page: Page, name: str, zh: str, en: str) -> None:
    _field(page, f"{name}.zh").fill(zh)
    _field(page, f"{name}.en").fill(en)


def test_an_admin_builds_and_publishes_a_questionnaire_that_a_patient_answers(
    builder_server, browser_page: Page
):
    page, server = browser_page, builder_server
    admin_mobile, patient_mobile = _in_database(server, _people)
    _sign_in(page, server, admin_mobile, password=DEFAULT_PASSWORD)
    page.goto(f"{server.url}/admin/prescreening")
    page.get_by_role("button", name="新建空白草稿").click()
    expect(page.get_by_role("heading", name="编辑问卷草稿")).to_be_visible()

    _words(page, "title", "发热门诊预检", "Fever clinic pre-screening")
    _field(page, "questions.0.id").fill("temperature")
    _field(page, "questions.0.kind").select_option("number")
    _words(page, "questions.0.label", "您现在的体温是多少？", "Your temperature now?")
    _press(page, "apply:0")
    _field(page, "questions.0.unit").fill("°C")
    _field(page, "questions.0.minimum").fill("35")
    _field(page, "questions.0.maximum").fill("60")
    _press(page, "add_band:0")
    _field(page, "questions.0.bands.0.from").fill("37.3")
    _field(page, "questions.0.bands.0.points").fill("3")

    _press(page, "add_question")
    _field(page, "questions.1.id").fill("cough")
    _words(page, "questions.1.label", "是否咳嗽？", "Do you cough?")
    _field(page, "questions.1.points_yes").fill("2")

    _press(page, "add_question")
    _field(page, "questions.2.id").fill("contact")
    _field(page, "questions.2.kind").select_option("single")
    _words(page, "questions.2.label", "是否接触过确诊病例？", "Contact with a confirmed case?")
    _press(page, "apply:2")
    _press(page, "add_option:2")
    _press(page, "add_option:2")
    for index, (key, zh, en, points) in enumerate(
        [("none", "没有", "No", "0"), ("close", "密切接触", "Close contact", "6")]
    ):
        _field(page, f"questions.2.options.{index}.id").fill(key)
        _words(page, f"questions.2.options.{index}.label", zh, en)
        _field(page, f"questions.2.options.{index}.points").fill(points)

    levels = [
        ("", "2", "风险较低，请居家观察。", "Low risk: stay at home and watch."),
        ("3", "5", "请前往发热门诊就诊。", "Go to a fever clinic."),
        (
            "6",
            "",
            "请立即前往发热门诊，指挥中心将联系您。",
            "Go now; the command centre will call.",
        ),
    ]
    for index, (low, high, zh, en) in enumerate(levels):
        if low:
            _field(page, f"levels.{index}.min_score").fill(low)
        _field(page, f"levels.{index}.max_score").fill(high)
        _words(page, f"levels.{index}.instruction", zh, en)
    page.locator('[name="levels.2.alert"]').check()

    _press(page, "publish")
    expect(page.locator('[id="error-questions.0.maximum"]')).to_contain_text("30 至 45")
    _field(page, "questions.0.maximum").fill("42")
    _press(page, "preview")
    expect(page.get_by_role("heading", name="发热门诊预检")).to_be_visible()
    expect(page.locator("#preview")).to_contain_text("是否接触过确诊病例？")
    page.get_by_role("link", name="返回编辑").click()
    _press(page, "publish")
    expect(page.locator("body")).to_contain_text("已发布")
    page.get_by_role("button", name="退出登录").click()

    _sign_in(page, server, patient_mobile, password=DEFAULT_PASSWORD)
    page.goto(f"{server.url}/prescreening")
    expect(page.get_by_role("heading", name="发热门诊预检")).to_be_visible()
    page.get_by_label("您现在在哪里？").select_option("420102")
    page.get_by_label("您现在的体温是多少？").fill("38.1")
    page.locator('[name="q-cough"][value="yes"]').check()
    page.locator('[name="q-contact"][value="none"]').check()
    page.get_by_role("button", name="查看我的风险等级").click()
    expect(page.get_by_role("heading", name="中风险")).to_be_visible()
    expect(page.locator("main")).to_contain_text("请前往发热门诊就诊。")
