import re
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select

from ihospital.app import create_app
from ihospital.audit.models import AuditEntry
from ihospital.identity.models import Account
from tests.conftest import make_settings
from tests.directory.builders import doctor_account, make_doctor, make_institution
from tests.identity.builders import csrf_token, make_patient
from tests.web.builders import sign_in, sign_in_as

ONE_YEAR = 365 * 24 * 3600


def set_cookie_headers(response: httpx.Response, name: str) -> list[str]:
    return [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]


def body_class(html: str) -> str:
    return re.search(r'<body class="([^"]*)"', html).group(1)


# ---- landing page ---------------------------------------------------------------------------


async def test_landing_page_offers_search_and_sign_in_in_chinese_by_default(client):
    response = await client.get("/")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="zh-CN">' in html
    assert "实体医院的线上服务" in html
    assert 'action="/doctors"' in html and 'name="q"' in html
    assert 'href="/login"' in html and 'href="/signup"' in html
    assert 'class="skip-link" href="#main"' in html and 'id="main"' in html
    assert '<meta name="csrf-token" content="' in html
    assert '<script defer src="/static/vendor/htmx/htmx.min.js"></script>' in html
    assert "echarts" not in html
    assert 'action="/logout"' not in html


async def test_landing_page_speaks_english_to_an_english_browser(client):
    response = await client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in response.text
    assert "Online care from real hospitals" in response.text
    assert "实体医院的线上服务" not in response.text


# ---- home per role --------------------------------------------------------------------------

HOMES = {
    "patient": ("张三，您好", "Hello, 张三", ["/doctors", "/patients", "/inbox", "/bills"]),
    "doctor": ("张三医生，您好", "Hello, Dr 张三", ["/doctor/profile"]),
    "pharmacist": ("药师工作台", "Pharmacist workbench", ["/inbox"]),
    "nurse": ("护士工作台", "Nurse workbench", ["/inbox"]),
    "institution_admin": ("机构管理", "Institution administration", ["/admin/doctors"]),
    "regulator": ("监管", "Supervision", ["/"]),
    "platform_admin": ("平台管理", "Platform administration", ["/admin/institution"]),
}


@pytest.mark.parametrize("role", sorted(HOMES))
async def test_signed_in_user_gets_the_home_of_their_role(client, session, clock, role):
    chinese, english, links = HOMES[role]
    await sign_in(session, client, clock=clock, role=role)
    html = (await client.get("/")).text
    assert f"<h1>{chinese}</h1>" in html
    for link in links:
        assert f'href="{link}"' in html
    assert 'action="/logout"' in html and 'name="csrf_token"' in html
    assert 'href="/login"' not in html
    english_html = (await client.get("/", headers={"Accept-Language": "en"})).text
    assert f"<h1>{english}</h1>" in english_html


CHINESE = re.compile(r"[\u3000-\u9fff\uff00-\uffef]+")
BILINGUAL = {"互联网医院", "中文", "张三"}  # the brand's other name, the switch back, the user


def chinese_left(html: str) -> set[str]:
    """The Chinese a page still shows in English, apart from the brand, the switch and the user."""
    text = re.sub(r"<script.*?</script>|<[^>]+>", " ", html, flags=re.S)
    return set(CHINESE.findall(text)) - BILINGUAL


@pytest.mark.parametrize("role", sorted(HOMES))
async def test_the_english_pages_of_every_role_are_wholly_english(client, session, clock, role):
    english = {"Accept-Language": "en"}
    for path in ("/signup", "/login"):
        assert chinese_left((await client.get(path, headers=english)).text) == set(), path
    await sign_in(session, client, clock=clock, role=role)
    pages = ["/", "/inbox"] + (["/patients", "/patients/new"] if role == "patient" else [])
    for path in pages:
        response = await client.get(path, headers=english)
        assert response.status_code == 200, path
        assert chinese_left(response.text) == set(), path


async def test_navigation_marks_the_current_page(client, session, clock):
    await sign_in(session, client, clock=clock, role="regulator")
    html = (await client.get("/")).text
    assert '<a href="/" aria-current="page">' in html


# ---- language switch ------------------------------------------------------------------------


async def test_language_switch_sets_a_cookie_for_a_year_and_goes_back(client):
    token = await csrf_token(client)
    response = await client.post(
        "/language", data={"csrf_token": token, "language": "en", "next": "/doctors?q=儿科"}
    )
    assert response.status_code == 303
    assert unquote(response.headers["location"]) == "/doctors?q=儿科"
    (cookie,) = set_cookie_headers(response, "ih_lang")
    assert "ih_lang=en" in cookie
    assert f"Max-Age={ONE_YEAR}" in cookie
    assert "SameSite=lax" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    html = (await client.get("/")).text
    assert '<html lang="en">' in html and "Online care from real hospitals" in html


async def test_language_switch_back_to_chinese(client):
    client.cookies.set("ih_lang", "en")
    token = await csrf_token(client)
    response = await client.post("/language", data={"csrf_token": token, "language": "zh-CN"})
    assert response.headers["location"] == "/"
    assert "实体医院的线上服务" in (await client.get("/")).text


async def test_language_switch_is_saved_on_the_signed_in_account(client, session, clock):
    account = await sign_in(session, client, clock=clock)
    token = await csrf_token(client)
    response = await client.post("/language", data={"csrf_token": token, "language": "en"})
    assert response.status_code == 303
    await session.refresh(account)
    assert account.language == "en"
    actions = (
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == str(account.id))
        )
    ).all()
    assert "account.update" in actions


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\t/evil.example",
    ],
)
async def test_switches_refuse_to_send_the_browser_elsewhere(client, target):
    token = await csrf_token(client)
    for path, field in (("/language", ("language", "en")), ("/elder-mode", ("elder_mode", "1"))):
        response = await client.post(
            path, data={"csrf_token": token, field[0]: field[1], "next": target}
        )
        assert response.status_code == 400, (path, target)
        assert response.json()["code"] == "web.next_not_local"
        assert "location" not in response.headers
        assert not set_cookie_headers(response, "ih_lang")
        assert not set_cookie_headers(response, "ih_elder")


async def test_refused_return_address_is_explained_in_the_visitors_language(client):
    token = await csrf_token(client)
    response = await client.post(
        "/language", data={"csrf_token": token, "language": "en", "next": "//evil.example"}
    )
    assert response.json()["detail"] == "返回地址必须是本站的页面。"


async def test_language_switch_requires_the_csrf_token(client):
    await csrf_token(client)
    missing = await client.post("/language", data={"language": "en"})
    assert missing.status_code == 403
    assert missing.json()["code"] == "security.csrf"
    wrong = await client.post("/language", data={"language": "en", "csrf_token": "forged.token"})
    assert wrong.status_code == 403
    assert not set_cookie_headers(wrong, "ih_lang")


async def test_signed_in_language_switch_requires_the_csrf_token(client, session, clock):
    account = await sign_in(session, client, clock=clock)
    await csrf_token(client)
    response = await client.post("/language", data={"language": "en"})
    assert response.status_code == 403
    await session.refresh(account)
    assert account.language is None


async def test_unknown_language_is_refused_naming_the_field(client):
    token = await csrf_token(client)
    response = await client.post("/language", data={"csrf_token": token, "language": "fr"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "language"


async def test_htmx_requests_may_send_the_token_in_a_header(client):
    token = await csrf_token(client)
    response = await client.post(
        "/language", data={"language": "en"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 303


# ---- 长辈模式 -------------------------------------------------------------------------------


async def test_elder_mode_for_a_visitor_is_kept_in_a_cookie(client):
    token = await csrf_token(client)
    response = await client.post(
        "/elder-mode", data={"csrf_token": token, "elder_mode": "1", "next": "/"}
    )
    assert response.status_code == 303
    (cookie,) = set_cookie_headers(response, "ih_elder")
    assert "ih_elder=1" in cookie and f"Max-Age={ONE_YEAR}" in cookie and "SameSite=lax" in cookie
    page = await client.get("/")
    assert body_class(page.text) == "elder"
    assert "已开启长辈模式" in page.text
    assert 'name="elder_mode" value="0"' in page.text
    again = await client.get("/")
    assert "已开启长辈模式" not in again.text
    assert body_class(again.text) == "elder"


async def test_elder_mode_can_be_turned_off(client):
    client.cookies.set("ih_elder", "1")
    token = await csrf_token(client)
    response = await client.post("/elder-mode", data={"csrf_token": token, "elder_mode": "0"})
    assert "ih_elder=0" in set_cookie_headers(response, "ih_elder")[0]
    page = await client.get("/")
    assert body_class(page.text) == ""
    assert 'name="elder_mode" value="1"' in page.text


async def test_elder_mode_is_remembered_on_the_account(client, session, clock):
    account = await sign_in(session, client, clock=clock)
    token = await csrf_token(client)
    await client.post("/elder-mode", data={"csrf_token": token, "elder_mode": "1"})
    await session.refresh(account)
    assert account.elder_mode is True
    client.cookies.delete("ih_elder")
    assert body_class((await client.get("/")).text) == "elder"


async def test_elder_mode_notice_follows_the_language(client):
    client.cookies.set("ih_lang", "en")
    token = await csrf_token(client)
    await client.post("/elder-mode", data={"csrf_token": token, "elder_mode": "1"})
    page = (await client.get("/")).text
    assert "Elder mode is on" in page
    assert "Standard mode" in page


async def test_elder_mode_requires_the_csrf_token(client):
    await csrf_token(client)
    response = await client.post("/elder-mode", data={"elder_mode": "1"})
    assert response.status_code == 403
    assert not set_cookie_headers(response, "ih_elder")


async def test_a_forged_notice_cookie_is_ignored(client):
    client.cookies.set(
        "ih_flash", "W1siSGFja2VkIiwiaW5mbyIse31dXQ.0123456789abcdef0123456789abcdef"
    )
    page = (await client.get("/")).text
    assert "Hacked" not in page
    assert 'class="notices"' not in page


# ---- cookies on plain http, static files ------------------------------------------------------


async def test_preference_cookies_are_not_secure_when_the_site_runs_on_plain_http(
    tmp_path, clock, engine, session_factory
):
    app = create_app(make_settings(tmp_path, cookie_secure=False), clock=clock, engine=engine)
    app.state.sessionmaker = session_factory
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        token = await csrf_token(client)
        response = await client.post("/language", data={"csrf_token": token, "language": "en"})
    (cookie,) = set_cookie_headers(response, "ih_lang")
    assert "Secure" not in cookie


@pytest.mark.parametrize(
    "path",
    [
        "/static/css/app.css",
        "/static/js/app.js",
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
    ],
)
async def test_layout_assets_are_served(client, path):
    response = await client.get(path)
    assert response.status_code == 200
    assert len(response.content) > 100


async def test_signed_in_pages_do_not_load_echarts_unless_asked(client, session, clock):
    await sign_in(session, client, clock=clock, role="platform_admin")
    assert "echarts" not in (await client.get("/")).text


async def test_visitor_switches_write_nothing_to_the_database(client, session, clock):
    token = await csrf_token(client)
    await client.post("/language", data={"csrf_token": token, "language": "en"})
    await client.post("/elder-mode", data={"csrf_token": token, "elder_mode": "1"})
    assert (await session.scalars(select(Account))).all() == []
    assert (await session.scalars(select(AuditEntry))).all() == []


# ---- what the role homes show -----------------------------------------------------------------


async def test_patient_home_lists_their_patient_profiles(client, session, clock):
    account = await sign_in(session, client, clock=clock)
    mother = await make_patient(session, account=account, name="李秀英", relationship="parent")
    html = (await client.get("/")).text
    assert f'href="/patients/{mother.id}"' in html
    assert "李秀英" in html and "父母" in html
    assert "realname-verified" in html


async def test_patient_home_without_profiles_invites_to_add_one(client, session, clock):
    await sign_in(session, client, clock=clock)
    html = (await client.get("/")).text
    assert 'href="/patients/new"' in html
    assert "添加就诊人" in html


async def test_patient_home_never_shows_another_accounts_profiles(client, session, clock):
    other = await make_patient(session, name="王五")
    await sign_in(session, client, clock=clock)
    html = (await client.get("/")).text
    assert "王五" not in html and f"/patients/{other.id}" not in html


@pytest.mark.parametrize(
    ("status", "chinese"),
    [("draft", "尚未提交审核"), ("pending", "机构审核中"), ("verified", "已认证")],
)
async def test_doctor_home_shows_the_verification_status(client, session, clock, status, chinese):
    institution = await make_institution(session, clock=clock)
    view = await make_doctor(session, clock=clock, institution=institution, status=status)
    account = await doctor_account(session, view=view)
    await sign_in_as(session, client, account=account, clock=clock)
    html = (await client.get("/")).text
    assert chinese in html
    assert institution.name in html


async def test_doctor_without_a_record_is_told_to_ask_the_institution(client, session, clock):
    await sign_in(session, client, clock=clock, role="doctor")
    html = (await client.get("/")).text
    assert "请联系机构管理员添加" in html


async def test_a_signed_out_browser_is_sent_to_login_and_back(client):
    response = await client.get("/patients?x=1", headers={"Accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fpatients%3Fx%3D1"


async def test_a_signed_out_htmx_request_sends_the_whole_page_to_login_and_back(client):
    headers = {"HX-Request": "true", "HX-Current-URL": "http://testserver/bills/7?tab=pay"}
    response = await client.get("/bills", headers=headers)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=%2Fbills%2F7%3Ftab%3Dpay"
    assert "location" not in response.headers


async def test_a_browser_refused_a_page_gets_an_error_page_in_its_language(client, session, clock):
    await sign_in(session, client, clock=clock, role="patient")
    response = await client.get("/admin/doctors", headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "您的角色无权进行此操作。" in response.text
    api = await client.get("/api/audit/entries", headers={"Accept": "text/html"})
    assert api.headers["content-type"].startswith("application/problem+json")
