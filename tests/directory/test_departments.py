"""Departments: the national 《医疗机构诊疗科目名录》 seeded by migration from
data/departments.csv, and the departments each institution runs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import ihospital.directory
from ihospital.directory.departments import add_department, list_department_codes
from ihospital.directory.sites import SiteInput
from ihospital.errors import Unprocessable
from tests.directory.builders import make_doctor, make_institution, make_staff, system
from tests.directory.support import audit_trail, headers_of
from tests.identity.builders import csrf_token
from tests.security.test_bad_input import LANGUAGES, counts, headers_in
from tests.web.builders import sign_in_as

SEED = Path(ihospital.directory.__file__).parent / "data" / "departments.csv"
# The codes DOMAIN.md names from the national list.
NATIONAL_CODES = {
    *(f"{n:02d}" for n in (*range(1, 18), 19, 20, 21, 26, 27, 28, 30, 31, 32, 50, 52)),
    *(f"03.{n:02d}" for n in range(1, 11)),
    *(f"04.{n:02d}" for n in range(1, 9)),
    "05.01",
    "05.02",
}


def _seed_rows() -> list[dict[str, str]]:
    with SEED.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def test_the_migration_seeds_the_national_list_from_the_csv(session, clock) -> None:
    rows = await list_department_codes(session, system(clock))

    seeded = [(row.code, row.name_zh, row.name_en, row.parent_code or "") for row in rows]
    assert seeded == [
        (row["code"], row["name_zh"], row["name_en"], row["parent_code"]) for row in _seed_rows()
    ]
    assert {row.code for row in rows} == NATIONAL_CODES
    codes = {row.code for row in rows}
    for row in rows:
        assert (row.parent_code is None) == ("." not in row.code)
        assert row.parent_code is None or (
            row.parent_code in codes and row.code.startswith(f"{row.parent_code}.")
        )
    named = {row.code: row.name_zh for row in rows}
    assert (named["03"], named["03.04"], named["07"], named["52"]) == (
        "内科",
        "心血管内科专业",
        "儿科",
        "中西医结合科",
    )


async def test_the_public_list_is_in_code_order(client) -> None:
    response = await client.get("/api/departments")

    assert response.status_code == 200
    codes = [row["code"] for row in response.json()]
    assert codes == sorted(codes) and set(codes) == NATIONAL_CODES
    cardiology = next(row for row in response.json() if row["code"] == "03.04")
    assert cardiology == {
        "code": "03.04",
        "name_zh": "心血管内科专业",
        "name_en": "Cardiology",
        "parent_code": "03",
    }


async def test_an_admin_adds_renames_and_removes_a_department(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock, departments=())
    headers = await headers_of(
        session, clock=clock, role="institution_admin", institution=institution
    )
    url = f"/api/institutions/{institution.id}/departments/10"

    added = await client.put(url, json={"offers_online": True}, headers=headers)
    again = await client.put(url, json={"offers_online": True}, headers=headers)
    renamed = await client.put(url, json={"local_name": "眼科中心"}, headers=headers)
    listed = (await client.get(f"/api/institutions/{institution.id}")).json()["departments"]
    removed = await client.delete(url, headers=headers)
    gone = await client.delete(url, headers=headers)

    assert added.status_code == 200, added.text
    assert added.json()["department"]["name_zh"] == "眼科"
    assert (again.status_code, renamed.json()["local_name"]) == (200, "眼科中心")
    assert [(row["department"]["code"], row["local_name"]) for row in listed] == [
        ("10", "眼科中心")
    ]
    assert removed.status_code == 204
    assert (gone.status_code, gone.json()["code"]) == (404, "directory.department_not_run")
    trail = await audit_trail(session, "institution", institution.id)
    assert trail[1:] == [
        (
            "institution.department.add",
            {"department_code": "10", "local_name": "", "offers_online": True},
        ),
        (
            "institution.department.update",
            {"department_code": "10", "local_name": "眼科中心", "offers_online": False},
        ),
        ("institution.department.remove", {"department_code": "10"}),
    ]


BAD_DEPARTMENTS = [
    ("99.99", {}, 422, "directory.department_unknown", "department_code"),
    ("18", {}, 422, "directory.department_unknown", "department_code"),
    ("03.4", {}, 422, "directory.department_code_invalid", "department_code"),
    ("03%27--", {}, 422, "directory.department_code_invalid", "department_code"),
    ("10", {"local_name": "<script>x</script>"}, 422, "request.invalid", "local_name"),
    (
        "10",
        {"local_name": "眼科'; DELETE FROM institutions;--"},
        422,
        "request.invalid",
        "local_name",
    ),
    ("10", {"local_name": "眼" * 65}, 422, "request.invalid", "local_name"),
    ("10", {"department_code": "03"}, 422, "request.invalid", "department_code"),
    ("10", {"offers_online": "yes please"}, 422, "request.invalid", "offers_online"),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("code", "body", "status", "problem_code", "field"), BAD_DEPARTMENTS)
async def test_a_bad_department_is_a_problem_and_changes_nothing(
    session, clock, client, language, code, body, status, problem_code, field
) -> None:
    institution = await make_institution(session, clock=clock)
    headers = headers_in(
        language,
        await headers_of(session, clock=clock, role="institution_admin", institution=institution),
    )
    before = await counts(session)
    trail = await audit_trail(session, "institution", institution.id)

    response = await client.put(
        f"/api/institutions/{institution.id}/departments/{code}", json=body, headers=headers
    )

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (response.json()["code"], response.json()["field"]) == (problem_code, field)
    assert await counts(session) == before
    assert await audit_trail(session, "institution", institution.id) == trail


async def test_only_an_internet_hospital_offers_online_departments(session, clock) -> None:
    clinic = await make_institution(session, clock=clock, internet=False, departments=())

    with pytest.raises(Unprocessable) as refused:
        await add_department(
            session,
            system(clock),
            institution_id=clinic.id,
            department_code="02",
            offers_online=True,
        )

    assert refused.value.code == "directory.online_needs_internet_hospital"
    assert refused.value.fields["field"] == "offers_online"


async def test_a_department_where_doctors_practise_cannot_be_removed(
    session, clock, client
) -> None:
    home = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    site = SiteInput(institution_id=other.id, department_code="07", filing_number="备案2026-1")
    await make_doctor(session, clock=clock, institution=home, department="03.04", sites=[site])
    headers = await headers_of(session, clock=clock, role="platform_admin")

    own = await client.delete(f"/api/institutions/{home.id}/departments/03.04", headers=headers)
    away = await client.delete(f"/api/institutions/{other.id}/departments/07", headers=headers)
    unused = await client.delete(f"/api/institutions/{home.id}/departments/07", headers=headers)

    for response in (own, away):
        assert response.status_code == 409
        assert (response.json()["code"], response.json()["count"]) == (
            "directory.department_in_use",
            1,
        )
    assert unused.status_code == 204


async def test_the_admin_page_adds_and_removes_departments(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock, departments=("07",))
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    await sign_in_as(session, client, account=admin, clock=clock)
    token = await csrf_token(client)

    added = await client.post(
        "/admin/institution/departments",
        data={"csrf_token": token, "department_code": "10", "local_name": "眼科中心"},
    )
    page = await client.get("/admin/institution")
    unknown = await client.post(
        "/admin/institution/departments",
        data={"csrf_token": token, "department_code": "99"},
        follow_redirects=True,
    )
    removed = await client.post(
        "/admin/institution/departments/07/remove", data={"csrf_token": token}
    )
    after = (await client.get(f"/api/institutions/{institution.id}")).json()["departments"]

    assert (added.status_code, added.headers["location"]) == (303, "/admin/institution")
    assert "眼科中心" in page.text
    assert "《医疗机构诊疗科目名录》中没有代码为 99 的科目。" in unknown.text
    assert removed.status_code == 303
    assert [row["department"]["code"] for row in after] == ["10"]
