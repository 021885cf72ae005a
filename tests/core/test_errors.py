"""Error shapes through the real app: every failure is a translated problem+json."""

import logging
from datetime import date
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Query
from pydantic import AfterValidator, Field

from ihospital.core.schemas import Schema
from ihospital.errors import Conflict, RuleViolation, TooManyRequests, Unprocessable
from tests.conftest import make_settings

LIMIT = 2048
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code"}


def _no_spaces(value: str) -> str:
    if " " in value:
        raise ValueError("Check the format of this value.")
    return value


class Visit(Schema):
    name: str = Field(min_length=1, max_length=8)
    born: date
    weight_kg: int = Field(ge=1, le=500)
    code: Annotated[str, AfterValidator(_no_spaces)] = "A1"


router = APIRouter(prefix="/test-errors")


@router.post("/visits")
async def create_visit(visit: Visit) -> dict[str, str]:
    return {"name": visit.name}


@router.get("/visits")
async def list_visits(page: Annotated[int, Query(ge=1)] = 1) -> dict[str, int]:
    return {"page": page}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("password=hunter2 in /srv/secret.py")


@router.get("/busy")
async def busy() -> None:
    raise TooManyRequests(
        "test.busy", "Too many requests. Please wait and try again.", retry_after=30
    )


@router.get("/taken")
async def taken() -> None:
    raise Conflict("test.taken", "The day {day} is taken.", day=date(2026, 11, 23))


@router.get("/department")
async def department() -> None:
    raise Unprocessable("test.department", "There is no department {code}.", code="00")


@router.get("/rule")
async def rule() -> None:
    raise RuleViolation("R01", "The value is not valid.")


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, max_body_bytes=LIMIT)


@pytest.fixture(autouse=True)
def _test_routes(app):
    app.include_router(router)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code)
    assert body["title"] and body["detail"]
    return body


async def test_every_invalid_field_is_named_and_the_detail_names_the_first(client):
    response = await client.post(
        "/test-errors/visits",
        json={"name": "", "born": "23/11/2026", "weight_kg": 0, "code": "a b"},
        headers={"Accept-Language": "en"},
    )
    body = assert_problem(response, 422, "request.invalid")
    assert body["errors"] == [
        {"field": "name", "type": "string_too_short", "message": "Fill in this field."},
        {
            "field": "born",
            "type": "date_from_datetime_parsing",
            "message": "Enter a date (YYYY-MM-DD).",
        },
        {
            "field": "weight_kg",
            "type": "greater_than_equal",
            "message": "Enter a value of at least 1.",
        },
        {"field": "code", "type": "value_error", "message": "Check the format of this value."},
    ]
    assert body["detail"] == "name: Fill in this field."
    assert body["field"] == "name"
    assert body["instance"] == "/test-errors/visits"


async def test_validation_messages_are_in_chinese_by_default(client):
    response = await client.post(
        "/test-errors/visits",
        json={"name": "张三", "born": "2020-01-01", "weight_kg": 20, "code": "a b"},
    )
    body = assert_problem(response, 422, "request.invalid")
    assert body["title"] == "输入有误"
    assert body["detail"] == "code：请检查此项的格式。"


async def test_a_missing_body_names_the_body(client):
    response = await client.post("/test-errors/visits", headers={"Accept-Language": "en"})
    body = assert_problem(response, 422, "request.invalid")
    assert body["errors"] == [
        {"field": "body", "type": "missing", "message": "This field is required."}
    ]


async def test_malformed_json_names_the_body(client):
    response = await client.post(
        "/test-errors/visits",
        content=b'{"name": "Li",',
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )
    body = assert_problem(response, 422, "request.invalid")
    assert body["errors"] == [
        {"field": "body", "type": "json_invalid", "message": "The data sent is not valid JSON."}
    ]
    assert "Expecting" not in response.text


async def test_an_unknown_field_is_refused_by_name(client):
    response = await client.post(
        "/test-errors/visits",
        json={"name": "Li", "born": "2020-01-01", "weight_kg": 20, "is_admin": True},
        headers={"Accept-Language": "en"},
    )
    body = assert_problem(response, 422, "request.invalid")
    assert body["errors"] == [
        {"field": "is_admin", "type": "extra_forbidden", "message": "This field is not allowed."}
    ]


async def test_a_body_that_is_not_an_object_is_refused(client):
    response = await client.post(
        "/test-errors/visits", json=[1, 2], headers={"Accept-Language": "en"}
    )
    body = assert_problem(response, 422, "request.invalid")
    assert body["errors"][0]["field"] == "body"


async def test_a_bad_query_parameter_is_named_without_its_location(client):
    response = await client.get("/test-errors/visits?page=zero", headers={"Accept-Language": "en"})
    body = assert_problem(response, 422, "request.invalid")
    assert body["errors"] == [
        {"field": "page", "type": "int_parsing", "message": "Enter a whole number."}
    ]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_a_body_that_is_not_json_is_an_unsupported_media_type(client, content_type):
    response = await client.post(
        "/test-errors/visits",
        content=b'{"name": "Li", "born": "2020-01-01", "weight_kg": 20}',
        headers={"Content-Type": content_type, "Accept-Language": "en"},
    )
    body = assert_problem(response, 415, "request.unsupported_media_type")
    assert "application/json" in body["detail"]


async def test_a_body_over_the_limit_by_content_length_is_refused_before_reading(client):
    response = await client.post(
        "/test-errors/visits",
        content=b"x" * (LIMIT + 1),
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )
    body = assert_problem(response, 413, "request.too_large")
    assert body["detail"] == f"The request body is larger than {LIMIT} bytes."
    assert body["limit"] == LIMIT
    assert response.headers["x-request-id"]


async def test_a_streamed_body_over_the_limit_is_refused_cleanly(client):
    async def chunks():
        for _ in range(8):
            yield b'{"name": "' + b"x" * 512

    response = await client.post(
        "/test-errors/visits",
        content=chunks(),
        headers={"Content-Type": "application/json", "Accept-Language": "zh-CN"},
    )
    assert "content-length" not in response.request.headers
    body = assert_problem(response, 413, "request.too_large")
    assert body["detail"] == f"请求内容超过 {LIMIT} 字节。"


async def test_a_streamed_body_within_the_limit_is_served(client):
    async def chunks():
        yield b'{"name": "Li", "born": '
        yield b'"2020-01-01", "weight_kg": 20}'

    response = await client.post(
        "/test-errors/visits", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {"name": "Li"}


async def test_a_refused_body_is_counted_as_a_413(client):
    await client.post("/test-errors/visits", content=b"x" * (LIMIT + 1))
    metrics = (await client.get("/metrics")).text
    assert 'ihospital_http_requests_total{method="POST",route="unmatched",status="413"}' in metrics


async def test_an_unexpected_failure_is_a_bare_500_logged_with_the_request_id(client, caplog):
    caplog.set_level(logging.ERROR, logger="ihospital.errors")
    response = await client.get(
        "/test-errors/boom", headers={"X-Request-ID": "req-0123456789", "Accept-Language": "en"}
    )
    body = assert_problem(response, 500, "server.error")
    assert set(body) == PROBLEM_MEMBERS | {"request_id"}
    assert body["request_id"] == "req-0123456789"
    assert body["detail"] == (
        "Something went wrong on our side. Quote req-0123456789 when you contact us."
    )
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert response.headers["x-request-id"] == "req-0123456789"
    [record] = [r for r in caplog.records if r.name == "ihospital.errors"]
    assert record.request_id == "req-0123456789"
    assert record.exc_info and "hunter2" in str(record.exc_info[1])


async def test_an_unexpected_failure_is_explained_in_the_visitors_language(client):
    client.cookies.set("ih_lang", "zh-CN")
    response = await client.get("/test-errors/boom")
    body = assert_problem(response, 500, "server.error")
    assert body["title"] == "服务器错误"
    assert body["request_id"] in body["detail"]


async def test_an_unknown_address_is_a_404_problem(client):
    response = await client.get("/no/such/address", headers={"Accept-Language": "en"})
    body = assert_problem(response, 404, "request.not_found")
    assert body["detail"] == "There is nothing at this address."


async def test_a_wrong_method_is_a_405_problem_with_allow(client):
    response = await client.delete("/test-errors/visits", headers={"Accept-Language": "en"})
    body = assert_problem(response, 405, "request.method_not_allowed")
    assert body["detail"] == "This address does not accept DELETE."
    assert response.headers["allow"]


async def test_an_app_error_keeps_its_fields_and_retry_after(client):
    response = await client.get("/test-errors/busy", headers={"Accept-Language": "en"})
    body = assert_problem(response, 429, "test.busy")
    assert body["retry_after"] == 30
    assert response.headers["retry-after"] == "30"


async def test_a_field_json_cannot_hold_is_sent_as_text(client):
    response = await client.get("/test-errors/taken", headers={"Accept-Language": "en"})
    body = assert_problem(response, 409, "test.taken")
    assert body["day"] == "2026-11-23"
    assert body["detail"] == "The day 2026-11-23 is taken."


async def test_a_field_may_be_called_code_without_replacing_the_problem_code(client):
    response = await client.get("/test-errors/department", headers={"Accept-Language": "en"})
    body = assert_problem(response, 422, "test.department")
    assert body["detail"] == "There is no department 00."


async def test_a_rule_violation_names_the_rule(client):
    response = await client.get("/test-errors/rule", headers={"Accept-Language": "en"})
    body = assert_problem(response, 422, "rule.R01")
    assert body["rule_id"] == "R01"
    assert body["title"] == "Blocked by a rule"


async def test_language_defaults_to_chinese(client):
    body = assert_problem(await client.get("/no/such/address"), 404, "request.not_found")
    assert (body["title"], body["detail"]) == ("未找到", "此地址不存在。")


async def test_language_follows_accept_language(client):
    response = await client.get("/no/such/address", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert assert_problem(response, 404, "request.not_found")["title"] == "Not found"


async def test_language_cookie_beats_accept_language(client):
    client.cookies.set("ih_lang", "zh-CN")
    response = await client.get("/no/such/address", headers={"Accept-Language": "en"})
    assert assert_problem(response, 404, "request.not_found")["title"] == "未找到"
    client.cookies.set("ih_lang", "en")
    response = await client.get("/no/such/address", headers={"Accept-Language": "zh-CN"})
    assert assert_problem(response, 404, "request.not_found")["title"] == "Not found"


async def test_an_unsupported_language_cookie_falls_back_to_the_header(client):
    client.cookies.set("ih_lang", "fr")
    response = await client.get("/no/such/address", headers={"Accept-Language": "en"})
    assert assert_problem(response, 404, "request.not_found")["title"] == "Not found"
