"""The medical insurance of a 就诊人 in the browser: shown on the 就诊人 page, added, changed and
ended on its insurance page, with refusals next to their fields (zh-CN by default, English on
request) and only the owning account let in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ihospital.audit.models import AuditEntry
from ihospital.billing.insurance.models import Coverage
from tests.billing.insurance.builders import make_coverage, new_insurance_number
from tests.identity.builders import csrf_token, make_account, make_patient
from tests.web.builders import sign_in, sign_in_as

EN = {"Accept-Language": "en"}


@pytest.fixture
async def patient(session, client, clock):
    """A 就诊人 whose account is signed in on ``client``."""
    account = await make_account(session, clock=clock)
    await sign_in_as(session, client, account=account, clock=clock)
    return await make_patient(session, account=account, clock=clock, name="李四")


def coverage_form(**changes: str) -> dict[str, str]:
    return {
        "insurance_type": "employee",
        "region_code": "420102",
        "insurance_number": new_insurance_number(),
        "account_balance": "1234.56",
        "valid_from": "2026-01-01",
        "valid_to": "",
        **changes,
    }


def field_error(html: str, name: str) -> str | None:
    """The message shown next to the field ``name``, if any."""
    found = re.search(rf'<span class="field-error" id="error-{name}">([^<]*)</span>', html)
    return found.group(1) if found else None


async def _post(client, path: str, data: dict[str, str], **kwargs):
    return await client.post(path, data={**data, "csrf_token": await csrf_token(client)}, **kwargs)


async def test_a_patient_adds_changes_and_ends_the_medical_insurance_of_a_patient(
    client, session, patient
):
    page = await client.get(f"/patients/{patient.id}")
    assert "尚未登记此就诊人的医保信息" in page.text
    assert f'href="/patients/{patient.id}/coverage"' in page.text
    form = await client.get(f"/patients/{patient.id}/coverage")
    assert form.status_code == 200
    assert f'action="/patients/{patient.id}/coverage/new"' in form.text
    assert '<option value="420100">武汉市</option>' in form.text  # the regions of the table

    number = new_insurance_number()
    added = await _post(
        client, f"/patients/{patient.id}/coverage/new", coverage_form(insurance_number=number)
    )
    assert (added.status_code, added.headers["location"]) == (
        303,
        f"/patients/{patient.id}/coverage",
    )
    assert "医保信息已保存" in (await client.get(added.headers["location"])).text
    shown = await client.get(f"/patients/{patient.id}")
    for text in (
        "职工医保",
        "420102",
        "按武汉市政策线上结算",
        "¥1,234.56",
        "自 2026-01-01 起长期有效",
    ):
        assert text in shown.text, text
    assert number[:2] + "*" * (len(number) - 4) + number[-2:] in shown.text
    assert number not in shown.text

    changed = await _post(
        client,
        f"/patients/{patient.id}/coverage",
        {"account_balance": "10.00", "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
    )
    assert changed.status_code == 303
    page = await client.get(f"/patients/{patient.id}/coverage")
    assert "修改已保存" in page.text and "¥10.00" in page.text
    assert "2026-01-01 至 2026-12-31" in page.text

    ended = await _post(client, f"/patients/{patient.id}/coverage/end", {})
    assert ended.status_code == 303
    page = await client.get(f"/patients/{patient.id}/coverage")
    assert "医保信息已终止" in page.text
    assert f'action="/patients/{patient.id}/coverage/new"' in page.text
    actions = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.patient_id == patient.id, AuditEntry.action.like("coverage.%"))
        .order_by(AuditEntry.id)
    )
    assert [a for a in actions.all() if a != "coverage.read"] == [
        "coverage.create",
        "coverage.update",
        "coverage.end",
    ]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"region_code": "990100"}, "region_code", "6 位行政区划代码"),
        ({"account_balance": "12.345"}, "account_balance", "金额最多保留两位小数"),
        ({"account_balance": "-3"}, "account_balance", "金额不能为负数"),
        ({"valid_from": "2026-13-01"}, "valid_from", "日期"),
        ({"valid_to": "2025-12-31"}, "valid_to", "参保截止日期不能早于开始日期"),
        ({"insurance_number": "12-34"}, "insurance_number", "医保编号"),
        ({"insurance_type": "resident"}, "account_balance", "只有职工医保设有个人账户"),
    ],
    ids=lambda value: str(value),
)
async def test_a_refused_coverage_shows_the_message_next_to_its_field(
    client, session, patient, changes, field, message
):
    form = coverage_form(**changes)
    number = form["insurance_number"]
    answer = await _post(client, f"/patients/{patient.id}/coverage/new", form)
    assert answer.status_code == 422
    assert message in (field_error(answer.text, field) or ""), answer.text
    assert number not in answer.text  # typed again, never sent back
    kept = {name: value for name, value in changes.items() if name != "insurance_number"}
    for name, value in kept.items():
        if name != "insurance_type":
            assert f'value="{value}"' in answer.text
    stored = await session.scalar(select(Coverage).where(Coverage.patient_id == patient.id))
    assert stored is None


async def test_the_page_and_its_messages_are_in_english_on_request(client, session, patient):
    answer = await _post(
        client,
        f"/patients/{patient.id}/coverage/new",
        coverage_form(account_balance="1.005"),
        headers=EN,
    )
    assert "Medical insurance of 李四" in answer.text
    assert (
        field_error(answer.text, "account_balance") == "An amount has at most two decimals (fen)."
    )


async def test_a_bad_change_keeps_the_coverage_and_says_why(client, session, clock, patient):
    coverage = await make_coverage(session, patient=patient, clock=clock, account_balance_fen=900)
    answer = await _post(
        client,
        f"/patients/{patient.id}/coverage",
        {"account_balance": "5", "valid_from": "2026-06-01", "valid_to": "2026-05-31"},
    )
    assert answer.status_code == 422
    assert "参保截止日期不能早于开始日期" in field_error(answer.text, "valid_to")
    await session.refresh(coverage)
    assert (coverage.account_balance_fen, coverage.valid_to) == (900, None)


async def test_a_resident_coverage_has_no_balance_to_change(client, session, clock, patient):
    await make_coverage(session, patient=patient, clock=clock, insurance_type="resident")
    page = await client.get(f"/patients/{patient.id}/coverage")
    assert "城乡居民医保" in page.text and 'name="account_balance"' not in page.text
    changed = await _post(
        client,
        f"/patients/{patient.id}/coverage",
        {"valid_from": "2026-01-01", "valid_to": "2026-12-31"},
    )
    assert changed.status_code == 303


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("GET", "", None),
        ("POST", "/new", coverage_form()),
        ("POST", "", {"valid_from": "2026-01-01", "valid_to": ""}),
        ("POST", "/end", {}),
    ],
)
async def test_another_accounts_patient_is_not_found(
    client, session, clock, patient, method, suffix, data
):
    theirs = await make_patient(session, clock=clock, name="王秘密")
    coverage = await make_coverage(session, patient=theirs, clock=clock)
    path = f"/patients/{theirs.id}/coverage{suffix}"
    if method == "GET":
        answer = await client.get(path)
    else:
        answer = await _post(client, path, data)
    assert answer.status_code == 404
    assert "王秘密" not in answer.text and coverage.insurance_number_masked not in answer.text
    await session.refresh(coverage)
    assert coverage.is_active


async def test_a_doctor_may_not_open_a_patients_insurance_page(client, session, clock):
    patient = await make_patient(session, clock=clock)
    await sign_in(session, client, clock=clock, role="doctor")
    answer = await client.get(f"/patients/{patient.id}/coverage")
    assert answer.status_code == 403
