"""The drug catalogue over HTTP: who may search and import, and bad files refused whole."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ihospital.core.clock import FrozenClock
from ihospital.core.i18n import translate
from ihospital.errors import PROBLEM_JSON
from ihospital.identity.accounts import STAFF_ROLES
from ihospital.prescribing.catalogue_api import IMPORT_PATH
from ihospital.prescribing.catalogue_import import (
    DOSE_ORDER_MESSAGE,
    NOT_CSV_MESSAGE,
    REJECTED_MESSAGE,
)
from ihospital.prescribing.models import Drug
from tests.conftest import START
from tests.directory.builders import make_institution
from tests.identity.builders import auth_headers, make_account
from tests.prescribing.catalogue_csv import NEW_CODE, counts, csv_text, new_row

EN = {"Accept-Language": "en"}


async def _headers(session, role: str, **extra: str) -> dict[str, str]:
    institution_id = None
    if role in STAFF_ROLES:
        institution_id = (await make_institution(session, clock=FrozenClock(START))).id
    account = await make_account(session, role=role, institution_id=institution_id)
    return {**await auth_headers(session, account=account), **extra}


def _upload(data: bytes, name: str = "drugs.csv", kind: str = "text/csv") -> dict:
    return {"files": {"file": (name, data, kind)}}


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code
    return body


@pytest.mark.parametrize("role", ["doctor", "pharmacist", "platform_admin"])
async def test_prescribers_and_pharmacists_search_the_catalogue(client, session, role):
    headers = await _headers(session, role)
    response = await client.get("/api/drugs", params={"q": "aldp"}, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] >= 2 and page["page_size"] == 20
    norvasc = next(item for item in page["items"] if item["brand_name_zh"] == "络活喜")
    assert (norvasc["strength_value"], norvasc["usual_dose_min"]) == ("5", "2.5")
    assert norvasc["reference_price"] == "33.60"
    one = await client.get(f"/api/drugs/{norvasc['id']}", headers=headers)
    assert one.json() == norvasc


async def test_a_patient_never_browses_prescription_drugs_rule_r08(client, session):
    headers = await _headers(session, "patient")
    listing = await client.get("/api/drugs", params={"q": "吗啡"}, headers=headers)
    one = await client.get("/api/drugs/1", headers=headers)
    for response in (listing, one):
        _problem(response, 403, "auth.forbidden")
    _problem(await client.get("/api/drugs"), 401, "auth.required")


async def test_filters_and_pages(client, session):
    headers = await _headers(session, "pharmacist")
    narcotics = await client.get(
        "/api/drugs", params={"special_class": "narcotic", "page_size": 2}, headers=headers
    )
    body = narcotics.json()
    assert body["total"] >= 5 and len(body["items"]) == 2
    assert {item["special_class"] for item in body["items"]} == {"narcotic"}
    bad = await client.get("/api/drugs", params={"special_class": "opioid"}, headers=headers)
    assert _problem(bad, 422, "request.invalid")["errors"][0]["field"] == "special_class"


async def test_an_unknown_drug_is_a_404(client, session):
    headers = await _headers(session, "doctor", **EN)
    body = _problem(await client.get("/api/drugs/999999", headers=headers), 404, "drugs.not_found")
    assert body["detail"] == "Drug 999999 was not found."


async def test_a_platform_admin_imports_a_catalogue_file(client, session):
    headers = await _headers(session, "platform_admin")
    response = await client.post(
        IMPORT_PATH, headers=headers, **_upload(csv_text([new_row()]).encode())
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0, "total": 1}
    assert await session.scalar(select(Drug.active).where(Drug.code == NEW_CODE))


@pytest.mark.parametrize("role", ["doctor", "pharmacist", "institution_admin", "patient"])
async def test_nobody_else_imports_or_withdraws(client, session, role):
    headers = await _headers(session, role)
    before = await counts(session)
    imported = await client.post(IMPORT_PATH, headers=headers, **_upload(b"code\n"))
    patched = await client.patch("/api/admin/drugs/1", json={"active": False}, headers=headers)
    for response in (imported, patched):
        _problem(response, 403, "auth.forbidden")
    assert await counts(session) == before


@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_a_file_with_bad_rows_lists_them_and_writes_nothing(client, session, language):
    headers = await _headers(
        session, "platform_admin", **({"Accept-Language": "en"} if language == "en" else {})
    )
    rows = [new_row(), new_row(code="XC08CAA027A001990199998", usual_dose_min="50")]
    before = await counts(session)
    response = await client.post(IMPORT_PATH, headers=headers, **_upload(csv_text(rows).encode()))
    body = _problem(response, 422, "drugs.import_rejected")
    assert body["detail"] == translate(REJECTED_MESSAGE, language, error_count=1)
    assert body["error_count"] == 1 and body["field"] == "file"
    [error] = body["errors"]
    assert (error["line"], error["column"]) == (3, "usual_dose_min")
    assert error["message"] == translate(DOSE_ORDER_MESSAGE, language, minimum=50, maximum=10)
    if language == "zh-CN":
        assert error["message"] == "常用单次最小剂量 50 大于常用单次最大剂量 10。"
    assert await counts(session) == before


async def test_a_picture_is_no_catalogue_file(client, session):
    headers = await _headers(session, "platform_admin", **EN)
    before = await counts(session)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = await client.post(
        IMPORT_PATH, headers=headers, **_upload(png, "drugs.png", "image/png")
    )
    assert _problem(response, 415, "drugs.not_csv")["detail"] == NOT_CSV_MESSAGE
    assert await counts(session) == before


async def test_an_11_mb_file_is_refused_before_it_is_read(client, session, settings):
    headers = await _headers(session, "platform_admin", **EN)
    before = await counts(session)
    big = csv_text([new_row()]).encode() + b"#" * (11 * 1024 * 1024)
    response = await client.post(IMPORT_PATH, headers=headers, **_upload(big))
    body = _problem(response, 413, "drugs.file_too_large")
    assert body["detail"] == "A catalogue file may be at most 10 MB."
    assert await counts(session) == before


async def test_no_file_is_a_clear_error(client, session):
    headers = await _headers(session, "platform_admin")
    response = await client.post(IMPORT_PATH, headers=headers, data={"other": "x"})
    body = _problem(response, 422, "drugs.file_missing")
    assert body["detail"] == "请选择药品目录的 CSV 文件（表单字段 file）。"


async def test_a_withdrawn_drug_leaves_the_search_until_brought_back(client, session):
    admin = await _headers(session, "platform_admin")
    doctor = await _headers(session, "doctor")
    [drug] = (await client.get("/api/drugs", params={"q": "络活喜"}, headers=doctor)).json()[
        "items"
    ]
    path = f"/api/admin/drugs/{drug['id']}"
    withdrawn = await client.patch(path, json={"active": False}, headers=admin)
    assert withdrawn.status_code == 200 and withdrawn.json()["active"] is False
    assert (await client.get("/api/drugs", params={"q": "络活喜"}, headers=doctor)).json()[
        "total"
    ] == 0
    bad = await client.patch(path, json={"active": "maybe"}, headers=admin)
    assert _problem(bad, 422, "request.invalid")["errors"][0]["field"] == "active"
    back = await client.patch(path, json={"active": True}, headers=admin)
    assert back.json()["active"] is True


async def test_the_catalogue_routes_are_in_the_openapi_document(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"get"} <= set(paths["/api/drugs"]) and "get" in paths["/api/drugs/{drug_id}"]
    assert "multipart/form-data" in paths[IMPORT_PATH]["post"]["requestBody"]["content"]
    assert "patch" in paths["/api/admin/drugs/{drug_id}"]
