"""Bad input to the directory API: a problem+json 422 naming the field, in zh-CN or en, and
nothing written; HTML in an introduction is kept as text and shown escaped."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from ihospital.directory.credentials import decide_review, submit_for_review
from ihospital.directory.models import Institution, Practitioner
from ihospital.identity.models import Account
from tests.directory.builders import (
    bearer,
    make_institution,
    make_staff,
    new_licence_number,
    new_mobile,
    system,
)

HAN = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORD = re.compile(r"[A-Za-z]{4,}")


def _institution(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "校验测试医院",
        "level": "三级甲等",
        "region_code": "110105",
        "region_name": "北京市朝阳区",
    }
    return {**body, **changes}


def _doctor(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "王校验",
        "sex": "female",
        "mobile": new_mobile(),
        "password": "Doctor-pass-123",
        "licence_number": new_licence_number(),
        "title": "主治医师",
        "practice_start_date": "2015-07-01",
        "department_code": "03.04",
    }
    return {**body, **changes}


async def _counts(session) -> tuple[int, int, int]:  # noqa: ANN001
    return (
        await session.scalar(select(func.count(Institution.id))),
        await session.scalar(select(func.count(Practitioner.id))),
        await session.scalar(select(func.count(Account.id))),
    )


def _assert_problem(response, field: str, language: str) -> None:  # noqa: ANN001
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == field
    message = problem["detail"].replace(field, "")
    if language == "zh":
        assert HAN.search(message), message
    else:
        assert ENGLISH_WORD.search(message), message
        assert not HAN.search(re.sub(r"'[^']*'", "", message)), message


LANGUAGES = [("zh", {}), ("en", {"Accept-Language": "en"})]


@pytest.mark.parametrize(("language", "extra"), LANGUAGES)
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"region_code": "990105"}, "region_code"),
        ({"region_code": "11010"}, "region_code"),
        ({"region_code": "１１０１０５"}, "region_code"),
        ({"level": "四级"}, "level"),
        ({"name": "院" * 129}, "name"),
        ({"name": "a" * 1_000_000}, "name"),
        ({"name": "<b>医院</b>"}, "name"),
        ({"phone": "010-8523abc"}, "phone"),
    ],
)
async def test_a_bad_institution_is_refused_and_nothing_is_written(
    session, clock, client, language, extra, changes, field
) -> None:
    admin = await make_staff(session, clock=clock, institution=None, role="platform_admin")
    headers = {**await bearer(session, clock=clock, account=admin), **extra}
    before = await _counts(session)

    response = await client.post("/api/institutions", json=_institution(**changes), headers=headers)

    _assert_problem(response, field, language)
    assert await _counts(session) == before


@pytest.mark.parametrize(("language", "extra"), LANGUAGES)
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"department_code": "99.99"}, "department_code"),
        ({"department_code": "０３.０４"}, "department_code"),
        ({"department_code": "3.4"}, "department_code"),
        ({"licence_number": "12345678901234"}, "licence_number"),
        ({"licence_number": "1234567890123456"}, "licence_number"),
        ({"licence_number": "１２３４５６７８９０１２３４５"}, "licence_number"),
        ({"licence_number": "12345678901234a"}, "licence_number"),
        ({"title": "院长"}, "title"),
        ({"name": "张3"}, "name"),
    ],
)
async def test_a_bad_doctor_is_refused_and_nothing_is_written(
    session, clock, client, language, extra, changes, field
) -> None:
    institution = await make_institution(session, clock=clock)
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    headers = {**await bearer(session, clock=clock, account=admin), **extra}
    before = await _counts(session)

    response = await client.post(
        f"/api/institutions/{institution.id}/practitioners",
        json=_doctor(**changes),
        headers=headers,
    )

    _assert_problem(response, field, language)
    assert await _counts(session) == before


async def test_html_in_the_introduction_is_stored_as_text_and_shown_escaped(
    session, clock, client
) -> None:
    institution = await make_institution(session, clock=clock)
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    headers = await bearer(session, clock=clock, account=admin)
    markup = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    created = await client.post(
        f"/api/institutions/{institution.id}/practitioners",
        json=_doctor(introduction=markup),
        headers=headers,
    )
    doctor_id = created.json()["id"]
    await submit_for_review(session, system(clock), practitioner_id=doctor_id)
    await decide_review(session, system(clock), practitioner_id=doctor_id, decision="verify")
    page = await client.get(f"/doctors/{doctor_id}")
    api = await client.get(f"/api/doctors/{doctor_id}")

    assert created.status_code == 201
    assert (await session.get(Practitioner, doctor_id)).introduction == markup
    assert api.json()["introduction"] == markup
    assert page.status_code == 200
    assert markup not in page.text
    assert "&lt;script&gt;alert(" in page.text
    assert "<img src=x" not in page.text
