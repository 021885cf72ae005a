"""Bad input through the real API: a clear problem+json 4xx in the caller's language (zh-CN by
default, English with ``Accept-Language: en``) that names the field, and nothing changed (rows and
audit entries are counted before and after).

Not repeated here, because tests/core/test_errors.py and tests/identity/ already cover them: the
field named for each bad ID number, HTML, SQL and 1 MB names of 就诊人 and sign-up; a plain
duplicate sign-up; the lockout with its retry-after; expired, revoked and forged bearer tokens;
CSRF on the public switches; the 413 on an echo route.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, get_args

import httpx
import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.ids import MESSAGES, check_character
from ihospital.deps import SESSION_COOKIE
from ihospital.directory.models import Institution, Practitioner
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.accounts import MOBILE_MESSAGE
from ihospital.identity.models import Account, AuthSession, Patient, SmsChallenge
from ihospital.identity.sessions import open_session
from ihospital.security.csrf import CSRF_COOKIE, new_csrf_token
from tests.conftest import make_settings
from tests.directory.builders import bearer, doctor_account, make_doctor, make_institution
from tests.identity.builders import auth_headers, csrf_token, make_account, make_id_number
from tests.security.routes import served_routes
from tests.security.test_authorisation_matrix import ROUTES, allowed_callers, path_values
from tests.security.world import build_world, client_for
from tests.web.builders import sign_in_as

EN = {"Accept-Language": "en"}
LANGUAGES = ("zh-CN", "en")
COUNTED = (Account, AuthSession, SmsChallenge, Patient, Institution, Practitioner, AuditEntry)
NOT_ALLOWED = "This field is not allowed."


@pytest.fixture
def settings(tmp_path):
    """The sandbox SMS gateway keeps what it sends, so a test can see that nothing was sent."""
    return make_settings(tmp_path, sms_sender="sandbox")


async def counts(session) -> dict[str, int]:
    return {
        model.__tablename__: await session.scalar(select(func.count()).select_from(model))
        for model in COUNTED
    }


def headers_in(language: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """``Accept-Language: en`` for English; no header at all for the zh-CN default."""
    return {**(headers or {}), **(EN if language == "en" else {})}


def assert_refused(
    response: httpx.Response, status: int, code: str, *, field: str, message: str, language: str
) -> dict:
    """A problem of ``status``/``code`` naming ``field`` with ``message`` in ``language``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code
    expected = translate(message, language)
    if language != "en":
        assert expected != message, f"no Chinese translation of {message!r}"
    if code == "request.invalid":
        assert body["errors"][0]["field"] == field
        assert body["errors"][0]["message"] == expected
        assert body["detail"].startswith(field) and body["detail"].endswith(expected)
    else:
        assert body["field"] == field
        assert body["detail"] == expected
    return body


# ---- resident ID numbers ---------------------------------------------------------------------


def _with_check(first17: str) -> str:
    return first17 + check_character(first17)


def _wrong_check(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


ID_CASES = [
    ("11010519900101123", "length", "request.invalid"),
    ("1101051990010112345", "length", "request.invalid"),
    ("11010519900101１２３X", "characters", "request.invalid"),
    ("1101051990O101123X", "characters", "request.invalid"),
    (_wrong_check(make_id_number()), "check_digit", "request.invalid"),
    (_with_check("01010519900101123"), "region", "request.invalid"),
    (_with_check("11010519900230123"), "birth_date", "request.invalid"),
    (_with_check("11010519901301123"), "birth_date", "request.invalid"),
    (_with_check("11010518991231123"), "too_old", "request.invalid"),
    (make_id_number(birth_date=date(2026, 11, 24)), "future", "identity.id_number_invalid"),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("number", "reason", "code"), ID_CASES, ids=[c[1] for c in ID_CASES])
async def test_a_bad_id_number_is_explained_and_changes_nothing(
    client, session, number, reason, code, language
):
    headers = await auth_headers(session, account=await make_account(session))
    before = await counts(session)
    body = {"name": "王小明", "relationship": "child", "id_number": number}
    response = await client.post("/api/patients", json=body, headers=headers_in(language, headers))
    assert_refused(
        response, 422, code, field="id_number", message=MESSAGES[reason], language=language
    )
    assert await counts(session) == before


# ---- the same mobile number twice at sign-up ---------------------------------------------------

TAKEN = "13912340000"


@pytest.mark.parametrize(
    "spelling",
    ["139１２３４００００", "139١٢٣٤٠٠٠٠", "13912340000\n", "１3912340000"],
    ids=["fullwidth", "arabic-indic", "newline", "fullwidth-first"],
)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_another_spelling_of_a_taken_mobile_is_no_new_number(
    client, app, session, spelling, language
):
    await make_account(session, mobile=TAKEN)
    before = await counts(session)
    code = await client.post(
        "/api/auth/sms-codes",
        json={"mobile": spelling, "purpose": "signup"},
        headers=headers_in(language),
    )
    signup = await client.post(
        "/api/auth/signup",
        json={
            "mobile": spelling,
            "password": "abc12345",
            "display_name": "张三",
            "sms_code": "123456",
        },
        headers=headers_in(language),
    )
    for response in (code, signup):
        if response.status_code == 409:  # read as the taken number itself
            assert response.json()["code"] == "identity.mobile_taken"
        else:
            assert_refused(
                response,
                422,
                "request.invalid",
                field="mobile",
                message=MOBILE_MESSAGE,
                language=language,
            )
    assert app.state.sms_sender.sent == {}
    assert await counts(session) == before


# ---- markup and SQL are stored as text and shown escaped ---------------------------------------

MARKUP = "<script>alert('x')</script> & <img src=x onerror=alert(1)>"
SQL = "'); DROP TABLE practitioners; --"


async def test_markup_in_a_profile_is_kept_as_text_and_escaped_on_the_page(client, session, clock):
    institution = await make_institution(session, clock=clock)
    view = await make_doctor(session, clock=clock, institution=institution)
    headers = await bearer(session, clock=clock, account=await doctor_account(session, view=view))
    changed = await client.patch(
        "/api/practitioners/me",
        json={"introduction": MARKUP, "specialties": SQL},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["introduction"], changed.json()["specialties"]) == (MARKUP, SQL)
    page = (await client.get(f"/doctors/{view.id}")).text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;img" in page
    assert "&#39;); DROP TABLE practitioners; --" in page
    assert await session.scalar(select(func.count()).select_from(Practitioner)) >= 1


@pytest.mark.parametrize("q", ["' OR '1'='1", "%", "_", "\\", "1; SELECT 1", "张' --"])
async def test_search_text_is_matched_literally(client, session, clock, q):
    institution = await make_institution(session, clock=clock)
    await make_doctor(session, clock=clock, institution=institution, name="王医生")
    response = await client.get("/api/doctors", params={"q": q, "institution_id": institution.id})
    assert response.status_code == 200
    assert response.json()["total"] == 0


async def test_markup_in_an_institution_name_is_refused_naming_the_field(client, session, clock):
    admin = await make_account(session, role="platform_admin")
    institution = await make_institution(session, clock=clock)
    headers = headers_in("en", await auth_headers(session, account=admin))
    before = await counts(session)
    response = await client.patch(
        f"/api/institutions/{institution.id}",
        json={"name": "<b>医院</b>"},
        headers=headers,
    )
    assert_refused(
        response,
        422,
        "request.invalid",
        field="name",
        message="This text may not contain < or > or control characters.",
        language="en",
    )
    assert await counts(session) == before


# ---- sizes, unknown fields, broken JSON --------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_body_over_the_limit_is_a_413_and_changes_nothing(
    client, session, settings, language
):
    headers = await auth_headers(session, account=await make_account(session))
    before = await counts(session)
    name = "王" * (settings.max_body_bytes // 3 + 1)  # three bytes each in UTF-8
    body = {"name": name, "relationship": "child", "id_number": make_id_number()}
    response = await client.post("/api/patients", json=body, headers=headers_in(language, headers))
    assert response.status_code == 413
    problem = response.json()
    assert problem["code"] == "request.too_large" and problem["limit"] == settings.max_body_bytes
    message = translate("The request body is larger than {limit} bytes.", language)
    assert problem["detail"] == message.format(limit=settings.max_body_bytes)
    assert await counts(session) == before


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PATCH", "/api/me", {"role": "platform_admin"}, "role"),
        ("PATCH", "/api/me", {"institution_id": 1, "elder_mode": True}, "institution_id"),
        ("PATCH", "/api/patients/{patient}", {"realname_status": "verified"}, "realname_status"),
        ("PATCH", "/api/patients/{patient}", {"account_id": 1}, "account_id"),
        ("POST", "/api/patients", {"account_id": 1}, "account_id"),
    ],
)
@pytest.mark.parametrize("language", LANGUAGES)
async def test_unknown_fields_are_refused_by_name_and_change_nothing(
    client, session, method, path, body, field, language
):
    account = await make_account(session)
    headers = headers_in(language, await auth_headers(session, account=account))
    created = await client.post(
        "/api/patients",
        json={"name": "王小明", "relationship": "child", "id_number": make_id_number()},
        headers=headers,
    )
    full = {"name": "李四", "relationship": "child", "id_number": make_id_number()} | body
    sent = full if method == "POST" else body
    before = await counts(session)
    response = await client.request(
        method, path.format(patient=created.json()["id"]), json=sent, headers=headers
    )
    assert_refused(
        response, 422, "request.invalid", field=field, message=NOT_ALLOWED, language=language
    )
    assert await counts(session) == before
    await session.refresh(account)
    assert (account.role, account.institution_id, account.elder_mode) == ("patient", None, False)


@pytest.mark.parametrize("language", LANGUAGES)
async def test_broken_json_is_refused_naming_the_body(client, session, language):
    account = await make_account(session)
    headers = headers_in(language, await auth_headers(session, account=account))
    before = await counts(session)
    response = await client.patch(
        "/api/me",
        content=b'{"elder_mode": tru',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_refused(
        response,
        422,
        "request.invalid",
        field="body",
        message="The data sent is not valid JSON.",
        language=language,
    )
    assert await counts(session) == before


TOO_BIG = 2**63  # one past the largest BIGINT


def whole_number_parameters(route: Any) -> Iterator[tuple[str, str]]:
    """(``path`` or ``query``, name) of each whole-number parameter of ``route``."""
    pending = [route.dependant] if hasattr(route, "dependant") else []
    while pending:
        dependant = pending.pop()
        pending.extend(dependant.dependencies)
        for where, parameters in (
            ("path", dependant.path_params),
            ("query", dependant.query_params),
        ):
            for parameter in parameters:
                annotation = parameter.field_info.annotation
                if int in (annotation, *get_args(annotation)):
                    yield where, parameter.name


async def test_an_id_beyond_the_database_range_is_refused_on_every_route(app, session, clock):
    """Every whole-number path or query parameter of every route: 2**63 is a 422 naming it,
    never a database overflow (a 500)."""
    world = await build_world(session, clock=clock)
    failures = {}
    for (method, path), route in served_routes(app):
        if method == "WS":
            continue  # a socket's own tests check that it refuses such an id with an error frame
        caller = min(allowed_callers(ROUTES[(method, path)].permission), key=str)
        for where, name in whole_number_parameters(route):
            values, query = path_values(world, caller), {}
            (values if where == "path" else query)[name] = TOO_BIG
            async with client_for(app, world, caller, page=not path.startswith("/api/")) as c:
                response = await c.request(method, path.format(**values), params=query)
            errors = response.json().get("errors", []) if response.status_code == 422 else []
            if name not in [error["field"] for error in errors]:
                failures[f"{method} {path} {name}"] = f"{response.status_code} {response.text}"
    assert failures == {}


# ---- session cookies that must not sign anyone in ----------------------------------------------


async def _cookie(session, clock, account, *, kind="web", hours=1) -> str:
    issued = await open_session(
        session, Actor.system(clock), account=account, kind=kind, hours=hours
    )
    return issued.token


@pytest.mark.parametrize("case", ["expired", "revoked", "forged", "api token", "deactivated"])
async def test_a_dead_session_cookie_signs_nobody_in(client, session, clock, case):
    account = await make_account(session)
    token = await _cookie(session, clock, account, kind="api" if case == "api token" else "web")
    client.cookies.set(SESSION_COOKIE, token)
    assert (await client.get("/patients")).status_code == (401 if case == "api token" else 200)
    if case == "expired":
        clock.advance(timedelta(hours=1))
    elif case == "revoked":
        assert (
            await client.post("/logout", data={"csrf_token": await csrf_token(client)})
        ).status_code == 303
        client.cookies.set(SESSION_COOKIE, token)
    elif case == "forged":
        client.cookies.set(SESSION_COOKIE, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    elif case == "deactivated":
        account.is_active = False
        await session.flush()
    before = await counts(session)
    for response in (
        await client.get("/patients", headers=EN),
        await client.get("/api/me", headers=EN),
        await client.post(
            "/patients/new",
            data={
                "csrf_token": await csrf_token(client),
                "name": "王小明",
                "relationship": "child",
                "id_number": make_id_number(),
            },
            headers=EN,
        ),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "auth.required"
        assert response.json()["detail"] == "Please sign in first."
    assert await counts(session) == before


async def test_a_browser_session_token_is_no_bearer_token(client, session, clock):
    account = await make_account(session)
    token = await _cookie(session, clock, account, kind="web")
    response = await client.get("/api/me", headers={"Authorization": f"Bearer {token}", **EN})
    assert response.status_code == 401
    assert response.json()["code"] == "auth.bad_token"


# ---- CSRF on signed-in pages and on cookie-authenticated API calls -----------------------------


@pytest.mark.parametrize("token", ["missing", "forged", "another browser's"])
async def test_a_signed_in_change_without_the_right_csrf_token_is_refused(
    app, client, session, clock, token
):
    account = await sign_in_as(session, client, account=await make_account(session), clock=clock)
    await csrf_token(client)
    presented = {
        "missing": {},
        "forged": {"csrf_token": "forged.token"},
        "another browser's": {"csrf_token": new_csrf_token(app.state.settings.secret_key)},
    }[token]
    form = {"name": "王小明", "relationship": "child", "id_number": make_id_number(), **presented}
    before = await counts(session)
    page = await client.post("/patients/new", data=form, headers=EN)
    api = await client.post(
        "/api/patients",
        json={"name": "王小明", "relationship": "child", "id_number": make_id_number()},
        headers={**EN, **({"X-CSRF-Token": presented["csrf_token"]} if presented else {})},
    )
    for response in (page, api):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "security.csrf"
        assert response.json()["detail"] == "The form has expired. Reload the page and try again."
    assert await counts(session) == before
    right = await client.post(
        "/api/patients",
        json={"name": "王小明", "relationship": "child", "id_number": make_id_number()},
        headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]},
    )
    assert right.status_code == 201
    assert right.json()["id"] and account.id


# ---- a doctor calling administrators' endpoints ------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_doctor_cannot_use_admin_endpoints(client, session, clock, language):
    institution = await make_institution(session, clock=clock)
    view = await make_doctor(session, clock=clock, institution=institution, status="pending")
    doctor = await doctor_account(session, view=view)
    headers = headers_in(language, await bearer(session, clock=clock, account=doctor))
    calls = [
        ("POST", f"/api/practitioners/{view.id}/reviews", {"decision": "verify", "note": ""}),
        ("PATCH", f"/api/practitioners/{view.id}", {"title": "主任医师"}),
        ("PATCH", f"/api/institutions/{institution.id}", {"name": "改名医院"}),
        ("POST", f"/api/institutions/{institution.id}/practitioners", {}),
        ("DELETE", f"/api/institutions/{institution.id}/departments/03.04", None),
        ("POST", "/api/institutions", {}),
        ("GET", f"/api/institutions/{institution.id}/practitioners", None),
        ("GET", "/api/audit/entries", None),
        ("GET", "/api/admin/outbox", None),
    ]
    before = await counts(session)
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["code"] == "auth.forbidden"
        assert response.json()["detail"] == translate("Your role may not do this.", language)
    assert await counts(session) == before
    await session.refresh(institution)
    practitioner = await session.get(Practitioner, view.id)
    await session.refresh(practitioner)
    assert (practitioner.verification_status, practitioner.title) == ("pending", "主治医师")
    assert institution.name != "改名医院"
