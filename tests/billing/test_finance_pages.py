"""The finance pages: totals in yuan, the navigation, re-running a day with the CSRF token,
and the CSV files for Excel (byte order mark, headers in the reader's language, formulas
defused). The books are those of :mod:`tests.billing.finance_builders`."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.finance_export import safe_cell
from ihospital.billing.finance_reconciliation import rerun_reconciliation
from tests.billing.builders import sandbox
from tests.billing.finance_builders import (
    DAY,
    STRAY,
    World,
    make_books,
    make_mismatched_day,
    make_world,
)
from tests.identity.builders import csrf_token, make_account
from tests.web.builders import sign_in_as
from tests.web.test_pages import chinese_left

BOM = "\ufeff"


@pytest.fixture
async def world(session, clock) -> World:
    return await make_world(session, clock=clock)


# ---- pages and CSV ------------------------------------------------------------------------------


async def test_the_finance_page_shows_the_totals_in_yuan_and_is_in_the_navigation(
    client, session, clock, world
):
    await make_books(session, clock, sandbox(clock), world)
    await sign_in_as(session, client, account=world.admin_here, clock=clock)
    assert 'href="/finance"' in (await client.get("/")).text
    page = await client.get("/finance", params={"start": "2026-11-23"})
    assert page.status_code == 200, page.text
    html = page.text
    assert '<a href="/finance" aria-current="page">' in html
    assert "收款笔数" in html and "¥89.00" in html and "-¥8.00" in html and "¥81.00" in html
    assert world.there.name not in html
    assert 'href="/finance/totals.csv?start=2026-11-23&amp;end=2026-11-24' in html
    english = await client.get("/finance", headers={"Accept-Language": "en"})
    assert "Payments received" in english.text
    assert chinese_left(english.text) == {world.admin_here.display_name}
    refused = await client.get("/finance", params={"start": "2020-01-01"})
    assert refused.status_code == 422 and "查询期间最长 366 天" in refused.text
    bad = await client.get("/finance", params={"end": "not-a-day"})
    assert bad.status_code == 422 and 'id="error-end"' in bad.text


async def test_a_patient_has_no_finance_link_and_no_finance_page(client, session, clock, world):
    patient = await make_account(session, clock=clock)
    await sign_in_as(session, client, account=patient, clock=clock)
    assert 'href="/finance"' not in (await client.get("/")).text
    page = await client.get("/finance", headers={"Accept": "text/html"})
    assert page.status_code == 403


async def test_staff_rerun_a_day_on_the_page_and_read_its_mismatches(
    app, client, session, clock, world
):
    provider = app.state.payment_providers["sandbox"]
    a, _ = await make_mismatched_day(session, clock, provider, world)
    await sign_in_as(session, client, account=world.admin_here, clock=clock)
    runs = await client.get("/finance/reconciliations")
    assert (
        runs.status_code == 200 and 'name="day"' in runs.text and 'value="2026-11-23"' in runs.text
    )
    without_token = await client.post(
        "/finance/reconciliations", data={"day": "2026-11-23", "channel": "sandbox"}
    )
    assert without_token.status_code == 403
    token = await csrf_token(client)
    today = await client.post(
        "/finance/reconciliations",
        data={"day": "2026-11-24", "channel": "sandbox", "csrf_token": token},
    )
    assert today.status_code == 422 and "只能对过去的日期对账" in today.text
    ran = await client.post(
        "/finance/reconciliations",
        data={"day": "2026-11-23", "channel": "sandbox", "csrf_token": token},
    )
    assert ran.status_code == 303
    page = await client.get(ran.headers["location"])
    assert "已重新对账 2026-11-23：1 处差异。" in page.text
    assert a.out_trade_no in page.text and "金额不一致" in page.text and "¥88.00" in page.text
    assert "=SUM" not in page.text  # trades of no institution are not this institution's
    listing = await client.get("/finance/reconciliations")
    assert ran.headers["location"] in listing.text


def _rows(response) -> list[list[str]]:
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(response.content.decode("utf-8").removeprefix(BOM))))


async def test_the_totals_csv_opens_in_excel_with_chinese_headers_and_yuan(
    client, session, clock, world
):
    await make_books(session, clock, sandbox(clock), world)
    await sign_in_as(session, client, account=world.platform, clock=clock)
    response = await client.get(
        "/finance/totals.csv", params={"start": "2026-11-23", "end": "2026-11-24"}
    )
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="finance_2026-11-23_2026-11-24.csv"'
    header, *rows, total = _rows(response)
    assert header[:5] == ["日期", "医疗机构", "支付渠道", "收款笔数", "收款金额（元）"]
    by_day = {(row[0], row[1]): row[2:] for row in rows}
    assert by_day[("2026-11-23", world.here.name)][:6] == [
        "sandbox",
        "1",
        "89.00",
        "0",
        "0.00",
        "89.00",
    ]
    # a negative net is a number we wrote, not text to escape
    assert by_day[("2026-11-24", world.here.name)][:6] == [
        "sandbox",
        "0",
        "0.00",
        "1",
        "8.00",
        "-8.00",
    ]
    assert total[:8] == ["合计", "", "", "3", "267.00", "1", "8.00", "259.00"]
    english = await client.get("/finance/totals.csv", headers={"Accept-Language": "en"})
    assert _rows(english)[0][:3] == ["Day", "Medical institution", "Payment channel"]
    exported = select(func.count()).where(AuditEntry.action == "billing.finance.export")
    assert await session.scalar(exported) == 2


async def test_the_mismatch_csv_defuses_formulas_in_trade_numbers(
    app, client, session, clock, world
):
    provider = app.state.payment_providers["sandbox"]
    await make_mismatched_day(session, clock, provider, world)
    view = await rerun_reconciliation(
        session,
        world.actor(world.platform),
        day=DAY,
        channel="sandbox",
        providers=app.state.payment_providers,
    )
    await sign_in_as(session, client, account=world.platform, clock=clock)
    response = await client.get(f"/finance/reconciliations/{view.run.id}/mismatches.csv")
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="reconciliation_sandbox_2026-11-23.csv"'
    header, *rows = _rows(response)
    assert header[:4] == ["对账日期", "支付渠道", "记录类型", "差异类型"]
    strays = {row[4]: row for row in rows if row[3] == "我方无记录（长款）"}
    assert set(strays) == {"'" + number for number in STRAY}
    assert strays["'=SUM(A1:A9)"][6:8] == ["1.00", ""]
    amounts = [row[6:8] for row in rows if row[3] == "金额不一致"]
    assert sorted(amounts) == [["87.00", "89.00"], ["88.00", "89.00"]]

    await sign_in_as(session, client, account=world.admin_there, clock=clock)
    theirs = await client.get(f"/finance/reconciliations/{view.run.id}/mismatches.csv")
    [_, only] = _rows(theirs)
    assert only[10] == world.there.name


def test_only_text_that_a_spreadsheet_would_run_is_escaped():
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@A1", "\t=1", "a=b", "")] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@A1",
        "'\t=1",
        "a=b",
        "",
    ]
    assert safe_cell(Decimal("-8.00")) == Decimal("-8.00") and safe_cell(-3) == -3
