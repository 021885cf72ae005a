"""The platform admin's catalogue page: search, upload with the bad rows as a table, withdraw.
Plain forms, so everything works without JavaScript."""

from __future__ import annotations

from sqlalchemy import select

from ihospital.prescribing.models import Drug
from tests.identity.builders import csrf_token
from tests.prescribing.catalogue_csv import NEW_CODE, counts, csv_text, new_row
from tests.web.builders import sign_in

EN = {"Accept-Language": "en"}


async def test_the_admin_searches_the_catalogue_by_pinyin_initials(client, session, clock):
    await sign_in(session, client, clock=clock, role="platform_admin")
    page = await client.get("/admin/drugs", params={"q": "lhx"})
    assert page.status_code == 200
    assert "络活喜" in page.text and "硝苯地平" not in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert 'for="field-file"' in page.text and 'for="field-q"' in page.text
    english = await client.get("/admin/drugs", params={"special_class": "narcotic"}, headers=EN)
    assert "Drug catalogue" in english.text and "Narcotic drug" in english.text
    assert "硫酸吗啡缓释片" in english.text and "络活喜" not in english.text


async def test_a_file_with_bad_rows_shows_them_as_a_table_and_imports_nothing(
    client, session, clock
):
    await sign_in(session, client, clock=clock, role="platform_admin")
    token = await csrf_token(client)
    rows = [new_row(), new_row(code="XC08CAA027A001990199998", special_class="opioid")]
    before = await counts(session)
    response = await client.post(
        "/admin/drugs/import",
        data={"csrf_token": token},
        files={"file": ("drugs.csv", csv_text(rows).encode(), "text/csv")},
    )
    assert response.status_code == 422
    assert "文件有 1 处错误，未导入任何内容。" in response.text
    assert '<table class="table row-errors">' in response.text
    assert "<td>3</td><td><code>special_class</code></td>" in response.text
    assert "未知的特殊管理类别 opioid" in response.text
    assert await counts(session) == before


async def test_a_good_file_is_imported_and_the_count_shown(client, session, clock):
    await sign_in(session, client, clock=clock, role="platform_admin")
    token = await csrf_token(client)
    response = await client.post(
        "/admin/drugs/import",
        data={"csrf_token": token},
        files={"file": ("drugs.csv", csv_text([new_row()]).encode(), "text/csv")},
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin/drugs"
    shown = await client.get("/admin/drugs", headers=EN)
    assert "Imported 1 drugs: 1 new, 0 changed, 0 unchanged." in shown.text
    assert await session.scalar(select(Drug.id).where(Drug.code == NEW_CODE))


async def test_no_file_or_a_picture_is_shown_next_to_the_field(client, session, clock):
    await sign_in(session, client, clock=clock, role="platform_admin")
    token = await csrf_token(client)
    empty = await client.post("/admin/drugs/import", data={"csrf_token": token}, headers=EN)
    assert empty.status_code == 422 and 'id="error-file"' in empty.text
    picture = await client.post(
        "/admin/drugs/import",
        data={"csrf_token": token},
        files={"file": ("x.png", b"\x89PNG\r\n\x1a\n\x00", "image/png")},
        headers=EN,
    )
    assert picture.status_code == 415 and "not a spreadsheet" in picture.text


async def test_withdrawing_a_drug_from_the_page(client, session, clock):
    await sign_in(session, client, clock=clock, role="platform_admin")
    drug = await session.scalar(select(Drug).where(Drug.brand_name_zh == "络活喜"))
    token = await csrf_token(client)
    response = await client.post(
        f"/admin/drugs/{drug.id}/active", data={"csrf_token": token, "active": "false"}
    )
    assert response.status_code == 303
    await session.refresh(drug)
    assert drug.active is False
    page = await client.get("/admin/drugs", params={"q": "络活喜", "include_inactive": "true"})
    assert "苯磺酸氨氯地平片 已停用。" in page.text and "恢复使用" in page.text


async def test_a_doctor_does_not_get_the_page(client, session, clock):
    await sign_in(session, client, clock=clock, role="doctor")
    response = await client.get("/admin/drugs", headers={"Accept": "text/html"})
    assert response.status_code == 403
