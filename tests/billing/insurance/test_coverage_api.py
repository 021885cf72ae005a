"""The coverage API (``/api/patients/{patient_id}/coverage``) and the insured regions: only the
account that manages a 就诊人 sees or changes its coverage, every step is audited, the insurance
number only ever comes out masked, and bad input is a 422 naming the field."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from ihospital.audit.models import AuditEntry
from ihospital.billing.insurance.models import Coverage
from ihospital.core.i18n import translate
from ihospital.core.money import MONEY_MESSAGES
from tests.billing.insurance.builders import make_coverage, new_insurance_number
from tests.directory.builders import bearer, doctor_account, make_doctor, make_institution
from tests.identity.builders import auth_headers, make_account, make_patient

MISSING_ID = 987_654_321


def coverage_body(**changes: object) -> dict[str, object]:
    """A 职工医保 of 武汉 江岸区 with ¥1,234.56 in the personal account, valid in 2026."""
    return {
        "insurance_type": "employee",
        "region_code": "420102",
        "insurance_number": new_insurance_number(),
        "account_balance": "1234.56",
        "valid_from": "2026-01-01",
        "valid_to": "2026-12-31",
        **changes,
    }


@pytest.fixture
async def owner(session, clock):
    """A 就诊人 and the API headers of the account that manages it."""
    account = await make_account(session, clock=clock)
    patient = await make_patient(session, account=account, clock=clock)
    return patient, await auth_headers(session, account=account, clock=clock)


def url(patient_id: int) -> str:
    return f"/api/patients/{patient_id}/coverage"


async def coverage_actions(session, patient_id: int) -> list[str]:
    rows = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.patient_id == patient_id, AuditEntry.subject_type == "coverage")
        .order_by(AuditEntry.id)
    )
    return list(rows.all())


async def audit_rows(session) -> int:
    return await session.scalar(select(func.count()).select_from(AuditEntry))


def named_fields(body: dict) -> set[str]:
    """The fields a 422 names: each invalid field of the request, or the service's field."""
    return {error["field"] for error in body.get("errors", [])} | {body.get("field")}


async def test_the_owner_adds_reads_changes_and_ends_a_coverage_and_each_step_is_audited(
    client, session, owner
):
    patient, headers = owner
    body = coverage_body(insurance_number="yb420102a1")
    created = await client.post(url(patient.id), json=body, headers=headers)
    assert created.status_code == 201, created.text
    coverage = created.json()
    assert coverage["insurance_number_masked"] == "YB******A1"
    assert "YB420102A1" not in created.text and "yb420102a1" not in created.text
    assert (coverage["account_balance_fen"], coverage["account_balance"]) == (123_456, "1234.56")
    assert coverage["policy_region"] == {"region_code": "420100", "region_name": "武汉市"}
    assert (coverage["valid_from"], coverage["valid_to"]) == ("2026-01-01", "2026-12-31")
    assert "insurance_number_cipher" not in coverage and "insurance_number_index" not in coverage

    read = await client.get(url(patient.id), headers=headers)
    assert read.status_code == 200 and read.json()["id"] == coverage["id"]

    balance = await client.patch(
        url(patient.id), json={"account_balance": "12.30"}, headers=headers
    )
    assert balance.status_code == 200, balance.text
    assert (balance.json()["account_balance_fen"], balance.json()["valid_to"]) == (
        1_230,
        "2026-12-31",
    )
    open_ended = await client.patch(url(patient.id), json={"valid_to": None}, headers=headers)
    assert (open_ended.json()["account_balance_fen"], open_ended.json()["valid_to"]) == (
        1_230,
        None,
    )

    ended = await client.delete(url(patient.id), headers=headers)
    assert ended.status_code == 204
    gone = await client.get(url(patient.id), headers=headers)
    assert (gone.status_code, gone.json()["code"]) == (404, "insurance.coverage_not_found")
    assert await coverage_actions(session, patient.id) == [
        "coverage.create",
        "coverage.read",
        "coverage.update",
        "coverage.update",
        "coverage.end",
    ]
    row = await session.get(Coverage, coverage["id"], populate_existing=True)
    assert row.is_active is False  # ended, kept on record


async def test_a_region_without_a_policy_is_recorded_with_no_policy_region(client, owner):
    patient, headers = owner
    body = coverage_body(insurance_type="resident", region_code="650102", account_balance="0")
    created = await client.post(url(patient.id), json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["policy_region"] is None


async def test_a_second_coverage_is_a_conflict(client, owner):
    patient, headers = owner
    assert (await client.post(url(patient.id), json=coverage_body(), headers=headers)).is_success
    again = await client.post(url(patient.id), json=coverage_body(), headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "insurance.coverage_exists")


@pytest.mark.parametrize(
    ("method", "json"),
    [
        ("GET", None),
        ("POST", coverage_body()),
        ("PATCH", {"account_balance": "1.00"}),
        ("DELETE", None),
    ],
    ids=["read", "add", "change", "end"],
)
async def test_another_accounts_patient_is_not_found_and_nothing_is_audited(
    client, session, clock, owner, method, json
):
    theirs = await make_patient(session, clock=clock)
    coverage = await make_coverage(session, patient=theirs, clock=clock, account_balance_fen=500)
    _, headers = owner
    before = await audit_rows(session)
    answer = await client.request(method, url(theirs.id), json=json, headers=headers)
    assert await audit_rows(session) == before, "a refused call left an audit entry"
    missing = await client.request(method, url(MISSING_ID), json=json, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (404, "identity.patient_not_found")
    assert answer.json()["detail"] == missing.json()["detail"].replace(
        str(MISSING_ID), str(theirs.id)
    )
    assert coverage.insurance_number_masked not in answer.text
    await session.refresh(coverage)
    assert (coverage.is_active, coverage.account_balance_fen) == (True, 500)


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
async def test_a_doctor_may_not_use_the_coverage_api(client, session, clock, method):
    patient = await make_patient(session, clock=clock)
    await make_coverage(session, patient=patient, clock=clock)
    view = await make_doctor(
        session, clock=clock, institution=await make_institution(session, clock=clock)
    )
    headers = await bearer(session, clock=clock, account=await doctor_account(session, view=view))
    json = {"valid_to": None} if method == "PATCH" else coverage_body()
    answer = await client.request(
        method, url(patient.id), json=None if method in ("GET", "DELETE") else json, headers=headers
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "auth.forbidden")


BAD_INPUT = [
    ({"region_code": "990100"}, "region_code"),  # no such province (GB/T 2260)
    ({"region_code": "4201"}, "region_code"),
    ({"insurance_type": "commercial"}, "insurance_type"),
    ({"insurance_number": "12-34"}, "insurance_number"),
    ({"valid_from": "2026-02-30"}, "valid_from"),
    ({"valid_from": "next monday"}, "valid_from"),
    ({"valid_to": "2025-12-31"}, "valid_to"),  # ends before it starts
    ({"account_balance": "-1.00"}, "account_balance"),
    ({"account_balance": "12.345"}, "account_balance"),  # a fraction of a fen
    ({"account_balance": 12.5}, "account_balance"),  # a number, not yuan text
    ({"account_balance": "99999999999"}, "account_balance"),
    ({"insurance_type": "resident", "account_balance": "1.00"}, "account_balance"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_INPUT, ids=lambda value: str(value))
async def test_bad_input_is_a_422_naming_the_field_and_nothing_is_stored(
    client, session, owner, changes, field
):
    patient, headers = owner
    answer = await client.post(url(patient.id), json=coverage_body(**changes), headers=headers)
    assert answer.status_code == 422, answer.text
    assert field in named_fields(answer.json())
    assert await coverage_actions(session, patient.id) == []
    missing = await client.get(url(patient.id), headers=headers)
    assert missing.json()["code"] == "insurance.coverage_not_found"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"account_balance": "-5"}, "account_balance"),
        ({"account_balance": "0.001"}, "account_balance"),
        ({"account_balance": None}, "account_balance"),
        ({"valid_from": None}, "valid_from"),
        ({"valid_from": "2027-01-01"}, "valid_to"),  # after the end date on record
        ({"insurance_number": "YB0001"}, "insurance_number"),  # the number cannot change
    ],
    ids=lambda value: str(value),
)
async def test_a_bad_change_is_a_422_naming_the_field_and_changes_nothing(
    client, session, clock, owner, changes, field
):
    patient, headers = owner
    coverage = await make_coverage(
        session,
        patient=patient,
        clock=clock,
        account_balance_fen=700,
        valid_to=date(2026, 12, 31),
    )
    answer = await client.patch(url(patient.id), json=changes, headers=headers)
    assert answer.status_code == 422, answer.text
    assert field in named_fields(answer.json())
    await session.refresh(coverage)
    assert (coverage.account_balance_fen, coverage.valid_to.isoformat()) == (700, "2026-12-31")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
async def test_a_refusal_is_explained_in_the_callers_language(client, owner, language):
    patient, headers = owner
    answer = await client.post(
        url(patient.id),
        json=coverage_body(account_balance="12.345"),
        headers={**headers, **({"Accept-Language": "en"} if language == "en" else {})},
    )
    [error] = answer.json()["errors"]
    expected = translate(MONEY_MESSAGES["fraction"], language)
    assert (error["field"], error["message"]) == ("account_balance", expected)
    if language == "zh-CN":
        assert expected != MONEY_MESSAGES["fraction"]


async def test_the_insured_regions_are_those_of_the_policy_table_for_anyone(client):
    answer = await client.get("/api/insurance/regions")
    assert answer.status_code == 200
    assert answer.json() == [
        {"region_code": "110000", "region_name": "北京市"},
        {"region_code": "420000", "region_name": "湖北省"},
        {"region_code": "420100", "region_name": "武汉市"},
    ]
