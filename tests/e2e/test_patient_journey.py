"""A new patient in a real browser: sign up with the SMS code, sign out and in, add a child as a
就诊人, switch to 长辈模式 (kept for the account) and to English and back."""

import random
import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from ihospital.core.ids import check_character

pytestmark = pytest.mark.browser

PASSWORD = "Journey-2026"  # noqa: S105


def _mobile() -> str:
    return f"139{random.randrange(10**8):08d}"


def _sign_up(page: Page, server, mobile: str) -> None:
    page.goto(f"{server.url}/signup")
    page.get_by_label("手机号").fill(mobile)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_label("验证码").fill(server.sms_code_for(mobile))
    page.get_by_label("您的称呼").fill("李明")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="注册", exact=True).click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def _sign_in(page: Page, server, mobile: str, *, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("手机号").fill(mobile)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def _sign_in_on_duty(page: Page, server, mobile: str, *, password: str) -> None:
    """A doctor signs in and verifies their identity again for this session (R04): a working
    session serves only the sign-in it was opened in. It ends on the doctor's home page, where
    signing in lands."""
    _sign_in(page, server, mobile, password=password)
    page.goto(f"{server.url}/doctor/work-session")
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="核验并开始出诊").click()
    expect(page.locator("#work-session")).to_contain_text("您的出诊有效至")
    page.goto(f"{server.url}/")


def _font_size(page: Page) -> float:
    return page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('main p, main td, main a')).fontSize)"
    )


def _sign_out_height(page: Page) -> float:
    box = page.get_by_role("button", name="退出登录").bounding_box()
    assert box is not None
    return box["height"]


def test_sign_up_add_a_child_elder_mode_and_english(live_server, browser_page: Page):
    page, mobile = browser_page, _mobile()
    page.goto(live_server.url)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    _sign_up(page, live_server, mobile)

    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("banner").get_by_role("link", name="登录")).to_be_visible()
    _sign_in(page, live_server, mobile)

    first17 = "11010520190823042"
    page.goto(f"{live_server.url}/patients/new")
    page.get_by_label("姓名").fill("李小雨")
    page.get_by_label("与您的关系").select_option("child")
    wrong = "X" if check_character(first17) != "X" else "0"
    page.get_by_label("居民身份证号码").fill(first17 + wrong)
    page.get_by_role("button", name="添加", exact=True).click()
    id_field = page.get_by_label("居民身份证号码")
    expect(id_field).to_have_attribute("aria-invalid", "true")
    described = (id_field.get_attribute("aria-describedby") or "").split()
    error = page.locator(", ".join(f"#{name}.field-error" for name in described) or "none")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(page.locator(".field", has=id_field)).to_contain_text(error.inner_text())
    page.get_by_label("居民身份证号码").fill(first17 + check_character(first17))
    page.get_by_role("button", name="添加", exact=True).click()

    page.goto(f"{live_server.url}/patients")
    row = page.get_by_role("row").filter(has_text="李小雨")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("子女")
    expect(row).to_contain_text("女")
    today = date.today()
    expect(row).to_contain_text(f"{today.year - 2019 - ((today.month, today.day) < (8, 23))} 岁")
    masked = row.locator(".id-number").inner_text()
    assert re.fullmatch(r"1101\*{10}\d{3}[\dX]", masked), masked
    assert first17 not in page.content()

    standard_size, standard_target = _font_size(page), _sign_out_height(page)
    expect(page.get_by_role("banner").get_by_text("李明")).to_be_visible()
    page.get_by_role("button", name="长辈模式").click()
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    assert _font_size(page) > standard_size
    assert _sign_out_height(page) > standard_target >= 44
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
    expect(page.get_by_role("banner").get_by_text("李明")).to_be_hidden()

    page.get_by_role("button", name="退出登录").click()
    page.context.clear_cookies()
    _sign_in(page, live_server, mobile)
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    page.get_by_role("button", name="标准模式").click()
    expect(page.locator("body")).not_to_have_class(re.compile(r"\belder\b"))

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Find a doctor")
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


UNLABELLED_INPUTS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map((el) => el.name)
"""


def test_every_form_field_has_a_label(live_server, browser_page: Page):
    page, mobile = browser_page, _mobile()
    for path in ("/signup", "/login"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate(UNLABELLED_INPUTS) == [], path
    _sign_up(page, live_server, mobile)
    page.goto(f"{live_server.url}/patients/new")
    assert page.evaluate(UNLABELLED_INPUTS) == []
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate(
        "getComputedStyle(document.activeElement).outlineStyle"
        " + ' ' + getComputedStyle(document.activeElement).boxShadow"
    )
    assert outline.split()[0] != "none" or "rgb" in outline, outline
