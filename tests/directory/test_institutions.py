"""Institutions (医疗机构): registration, editing by their own admin, the public listing and page,
consortium (医联体) links, the internet hospital licence (R14), bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ihospital.core.clock import FrozenClock
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.directory.institutions import (
    create_institution,
    licence_expiring,
    list_institutions,
    update_institution,
)
from ihospital.directory.models import Institution
from ihospital.errors import Forbidden, Unprocessable
from tests.directory.builders import make_institution, make_staff, system
from tests.directory.support import audit_trail, headers_of
from tests.identity.builders import csrf_token
from tests.security.test_bad_input import LANGUAGES, counts, headers_in
from tests.web.builders import sign_in_as

NEW = {
    "name": "北京市朝阳区第二人民医院",
    "level": "二级甲等",
    "region_code": "110105",
    "region_name": "北京市朝阳区",
    "address": "北京市朝阳区工体南路2号",
    "phone": "010-85231001",
}
LICENSED = {
    "is_internet_hospital": True,
    "internet_licence_number": "京卫互联网医院2026001",
    "internet_licence_expires_on": "2027-06-30",
}


async def test_a_platform_admin_registers_an_institution_and_it_is_audited(
    session, clock, client
) -> None:
    headers = await headers_of(session, clock=clock, role="platform_admin")

    created = await client.post("/api/institutions", json=NEW | LICENSED, headers=headers)
    detail = await client.get(f"/api/institutions/{created.json()['id']}")

    assert created.status_code == 201, created.text
    body = detail.json()
    assert {key: body[key] for key in NEW} == NEW
    assert (body["is_internet_hospital"], body["internet_licence_valid"]) == (True, True)
    assert (body["departments"], body["members"], body["upper_institution"]) == ([], [], None)
    [(action, details)] = await audit_trail(session, "institution", body["id"])
    assert action == "institution.create"
    assert details == NEW | LICENSED


@pytest.mark.parametrize("level", ["三级甲等", "二级", "社区卫生服务中心", "乡镇卫生院"])
async def test_every_level_is_kept(session, clock, level) -> None:
    institution = await make_institution(session, clock=clock, level=level, internet=False)

    assert (await session.get(Institution, institution.id)).level == level


async def test_an_institution_admin_edits_their_own_institution(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    headers = await headers_of(
        session, clock=clock, role="institution_admin", institution=institution
    )
    old_phone = institution.phone

    response = await client.patch(
        f"/api/institutions/{institution.id}",
        json={"phone": "010-65295000", "address": institution.address},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["phone"] == "010-65295000"
    assert (await audit_trail(session, "institution", institution.id))[-1] == (
        "institution.update",
        {"phone": [old_phone, "010-65295000"]},
    )


async def test_a_change_to_the_same_values_writes_no_audit_entry(session, clock) -> None:
    institution = await make_institution(session, clock=clock)
    before = await audit_trail(session, "institution", institution.id)

    await update_institution(
        session,
        system(clock),
        institution_id=institution.id,
        changes={"name": institution.name, "level": institution.level},
    )

    assert await audit_trail(session, "institution", institution.id) == before


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_admin_of_one_institution_cannot_change_another(
    session, clock, client, language
) -> None:
    own = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    headers = headers_in(
        language,
        await headers_of(session, clock=clock, role="institution_admin", institution=own),
    )
    before = await counts(session)

    calls = [
        ("PATCH", f"/api/institutions/{other.id}", {"name": "改名医院"}),
        ("PUT", f"/api/institutions/{other.id}/departments/10", {"local_name": "眼科"}),
        ("DELETE", f"/api/institutions/{other.id}/departments/07", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "directory.not_your_institution"
        assert response.json()["detail"] == (
            "You may only manage your own institution."
            if language == "en"
            else "您只能管理本机构。"
        )
    missing = await client.patch("/api/institutions/999999", json={"name": "新名"}, headers=headers)

    assert missing.status_code == 404
    assert missing.json()["code"] == "directory.institution_not_found"
    assert await counts(session) == before
    await session.refresh(other)
    assert other.name != "改名医院"


async def test_only_a_platform_admin_registers_institutions(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    headers = await headers_of(
        session, clock=clock, role="institution_admin", institution=institution
    )

    response = await client.post("/api/institutions", json=NEW, headers=headers)
    anonymous = await client.post("/api/institutions", json=NEW)

    assert (response.status_code, response.json()["code"]) == (403, "auth.forbidden")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "auth.required")
    actor = Actor(
        role="institution_admin", clock=clock, account_id=admin.id, institution_id=institution.id
    )
    with pytest.raises(Forbidden):
        await create_institution(session, actor, **NEW)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PATCH", "/api/institutions/{id}"),
        ("PUT", "/api/institutions/{id}/departments/10"),
        ("DELETE", "/api/institutions/{id}/departments/07"),
        ("POST", "/api/institutions/{id}/practitioners"),
        ("GET", "/api/institutions/{id}/practitioners"),
    ],
)
async def test_anonymous_callers_of_private_endpoints_get_401(
    session, clock, client, method, path
) -> None:
    institution = await make_institution(session, clock=clock)

    response = await client.request(method, path.format(id=institution.id), json={})

    assert response.status_code == 401
    assert response.json()["code"] == "auth.required"


BAD_NEW = [
    ({"name": "<script>alert(1)</script>医院"}, "name", "request.invalid"),
    ({"name": "x'; DROP TABLE institutions;--"}, "name", "request.invalid"),
    ({"name": "' OR '1'='1"}, "name", "request.invalid"),
    ({"region_name": "朝阳区%"}, "region_name", "request.invalid"),
    ({"name": "医" * 129}, "name", "request.invalid"),
    ({"name": None}, "name", "request.invalid"),
    ({"region_code": "990000"}, "region_code", "request.invalid"),
    ({"region_code": "11010"}, "region_code", "request.invalid"),
    ({"level": "四级"}, "level", "request.invalid"),
    ({"phone": "010;DROP"}, "phone", "request.invalid"),
    ({"verified": True}, "verified", "request.invalid"),
    ({"upper_institution_id": 2**63}, "upper_institution_id", "request.invalid"),
    ({"internet_licence_expires_on": "2027-02-30"}, "internet_licence_expires_on", None),
    ({"is_internet_hospital": True}, "internet_licence_number", "directory.licence_required"),
    (
        {"internet_licence_number": "京卫1"},
        "is_internet_hospital",
        "directory.licence_without_internet_hospital",
    ),
    ({"upper_institution_id": 999999}, "upper_institution_id", "directory.upper_unknown"),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("change", "field", "code"), BAD_NEW)
async def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(
    session, clock, client, language, change, field, code
) -> None:
    headers = headers_in(language, await headers_of(session, clock=clock, role="platform_admin"))
    before = await counts(session)

    response = await client.post("/api/institutions", json=NEW | change, headers=headers)

    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == (code or "request.invalid")
    assert problem["field"] == field
    assert problem["status"] == response.status_code
    assert problem["title"] == ("Invalid input" if language == "en" else "输入有误")
    assert await counts(session) == before


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_1_mb_name_is_a_413_and_changes_nothing(session, clock, client, language) -> None:
    headers = headers_in(language, await headers_of(session, clock=clock, role="platform_admin"))
    before = await counts(session)

    response = await client.post(
        "/api/institutions", json=NEW | {"name": "医" * 350_000}, headers=headers
    )

    assert response.status_code == 413
    assert response.json()["code"] == "request.too_large"
    assert await counts(session) == before


@pytest.mark.parametrize("language", LANGUAGES)
async def test_a_taken_name_is_a_409_also_when_renaming(session, clock, client, language) -> None:
    first = await make_institution(session, clock=clock)
    second = await make_institution(session, clock=clock)
    headers = headers_in(language, await headers_of(session, clock=clock, role="platform_admin"))
    before = await counts(session)

    created = await client.post(
        "/api/institutions", json=NEW | {"name": first.name}, headers=headers
    )
    renamed = await client.patch(
        f"/api/institutions/{second.id}", json={"name": first.name}, headers=headers
    )

    for response in (created, renamed):
        assert response.status_code == 409
        problem = response.json()
        assert (problem["code"], problem["field"]) == ("directory.institution_name_taken", "name")
        assert problem["detail"] == translate(
            "An institution named {name} already exists.", language, name=first.name
        )
    assert await counts(session) == before


async def test_dropping_the_internet_hospital_flag_needs_the_licence_cleared(
    session, clock
) -> None:
    institution = await make_institution(session, clock=clock)
    actor = system(clock)

    with pytest.raises(Unprocessable) as refused:
        await update_institution(
            session,
            actor,
            institution_id=institution.id,
            changes={"is_internet_hospital": False},
        )
    assert refused.value.code == "directory.licence_without_internet_hospital"

    changed = await update_institution(
        session,
        actor,
        institution_id=institution.id,
        changes={
            "is_internet_hospital": False,
            "internet_licence_number": "",
            "internet_licence_expires_on": None,
        },
    )
    assert changed.is_internet_hospital is False


async def test_an_unknown_field_is_refused_by_the_service(session, clock) -> None:
    institution = await make_institution(session, clock=clock)

    with pytest.raises(Unprocessable) as refused:
        await update_institution(
            session, system(clock), institution_id=institution.id, changes={"created_at": None}
        )

    assert (refused.value.code, refused.value.fields["field"]) == (
        "directory.field_not_editable",
        "created_at",
    )


async def test_a_consortium_links_both_ways_and_refuses_a_loop(session, clock, client) -> None:
    hospital = await make_institution(session, clock=clock, name="武汉江城测试医院")
    centre = await make_institution(
        session,
        clock=clock,
        name="水果湖测试社区卫生服务中心",
        level="社区卫生服务中心",
        internet=False,
        upper_institution_id=hospital.id,
    )
    outpost = await make_institution(
        session, clock=clock, internet=False, upper_institution_id=centre.id
    )
    headers = await headers_of(session, clock=clock, role="platform_admin")

    upper = (await client.get(f"/api/institutions/{hospital.id}")).json()
    member = (await client.get(f"/api/institutions/{centre.id}")).json()
    loop = await client.patch(
        f"/api/institutions/{hospital.id}",
        json={"upper_institution_id": outpost.id},
        headers=headers,
    )
    own = await client.patch(
        f"/api/institutions/{hospital.id}",
        json={"upper_institution_id": hospital.id},
        headers=headers,
    )

    assert upper["members"] == [{"id": centre.id, "name": centre.name}]
    assert member["upper_institution"] == {"id": hospital.id, "name": hospital.name}
    for response in (loop, own):
        assert response.status_code == 422
        assert response.json()["code"] == "directory.upper_cycle"
    await session.refresh(hospital)
    assert hospital.upper_institution_id is None


async def test_the_listing_filters_by_region_level_and_internet_hospital(session, clock) -> None:
    made = {
        "朝阳": await make_institution(session, clock=clock, region_code="110105"),
        "海淀": await make_institution(
            session, clock=clock, region_code="110108", level="二级", internet=False
        ),
        "武昌": await make_institution(session, clock=clock, region_code="420106"),
    }
    ids = {institution.id: label for label, institution in made.items()}
    actor = system(clock)

    async def labels(**filters) -> set[str]:  # noqa: ANN003
        result = await list_institutions(session, actor, page_size=50, **filters)
        return {ids[item.id] for item in result.items if item.id in ids}

    assert await labels(region_code="110000") == {"朝阳", "海淀"}
    assert await labels(region_code="110100") == {"朝阳", "海淀"}
    assert await labels(region_code="110108") == {"海淀"}
    assert await labels(region_code="420000") == {"武昌"}
    assert await labels(level="二级") == {"海淀"}
    assert await labels(is_internet_hospital=False) == {"海淀"}
    assert await labels(is_internet_hospital=True) == {"朝阳", "武昌"}


async def test_the_listing_pages_by_name_with_totals(session, clock, client) -> None:
    for letter in "戊甲丁乙丙":
        await make_institution(
            session, clock=clock, name=f"分页测试医院{letter}", region_code="650102"
        )
    expected = sorted(f"分页测试医院{letter}" for letter in "戊甲丁乙丙")

    pages = [
        (
            await client.get(
                "/api/institutions", params={"region_code": "650102", "page": page, "page_size": 2}
            )
        ).json()
        for page in (1, 2, 3, 4)
    ]
    too_big = await client.get("/api/institutions", params={"page_size": 51})

    assert [page["total"] for page in pages] == [5, 5, 5, 5]
    assert [item["name"] for page in pages for item in page["items"]] == expected
    assert pages[3]["items"] == []
    assert (too_big.status_code, too_big.json()["field"]) == (422, "page_size")


async def test_an_expired_licence_shows_on_the_page_and_in_the_expiry_list(
    session, clock: FrozenClock, client
) -> None:
    soon = await make_institution(session, clock=clock, licence_expires_on=date(2026, 12, 1))
    expired = await make_institution(session, clock=clock, licence_expires_on=date(2026, 11, 22))
    await make_institution(session, clock=clock, licence_expires_on=date(2027, 12, 31))
    await make_institution(session, clock=clock, internet=False)

    listed = await licence_expiring(session, system(clock), within_days=30)
    page = await client.get(f"/institutions/{expired.id}", headers={"Accept-Language": "en"})

    assert [(row.institution_id, row.days_left) for row in listed][:2] == [
        (expired.id, -1),
        (soon.id, 8),
    ]
    assert "Internet hospital licence expired" in page.text
    clock.set(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # 2026-12-01 in Shanghai
    assert (await client.get(f"/api/institutions/{soon.id}")).json()["internet_licence_valid"]
    clock.set(datetime(2026, 12, 1, 16, 0, tzinfo=UTC))  # 2026-12-02 in Shanghai
    assert not (await client.get(f"/api/institutions/{soon.id}")).json()["internet_licence_valid"]


async def test_the_public_page_shows_the_institution_and_its_departments(
    session, clock, client
) -> None:
    institution = await make_institution(session, clock=clock, departments=("03.04", "07"))

    chinese = await client.get(f"/institutions/{institution.id}")
    english = await client.get(f"/institutions/{institution.id}", headers={"Accept-Language": "en"})
    missing = await client.get("/institutions/999999")

    assert chinese.status_code == 200
    assert institution.name in chinese.text
    assert "心血管内科专业" in chinese.text and "儿科" in chinese.text
    assert "Cardiology" in english.text and "Paediatrics" in english.text
    assert missing.status_code == 404


# ---- the admin's institution page -------------------------------------------------------------


async def _signed_in_admin(session, clock, client, institution):  # noqa: ANN001, ANN202
    admin = await make_staff(
        session, clock=clock, institution=institution, role="institution_admin"
    )
    await sign_in_as(session, client, account=admin, clock=clock)
    return await csrf_token(client)


def _form(institution: Institution, **changes: str) -> dict[str, str]:
    values = {
        "name": institution.name,
        "level": institution.level,
        "region_code": institution.region_code,
        "region_name": institution.region_name,
        "address": institution.address,
        "phone": institution.phone,
        "is_internet_hospital": "1" if institution.is_internet_hospital else "",
        "internet_licence_number": institution.internet_licence_number,
        "internet_licence_expires_on": str(institution.internet_licence_expires_on or ""),
        "upper_institution_id": "",
    }
    return values | changes


async def test_the_admin_saves_the_institution_form(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    token = await _signed_in_admin(session, clock, client, institution)

    page = await client.get("/admin/institution")
    saved = await client.post(
        "/admin/institution", data=_form(institution, csrf_token=token, phone="010-65290000")
    )

    assert page.status_code == 200 and institution.name in page.text
    assert (saved.status_code, saved.headers["location"]) == (303, "/admin/institution")
    await session.refresh(institution)
    assert institution.phone == "010-65290000"


async def test_the_institution_form_shows_a_bad_field_and_changes_nothing(
    session, clock, client
) -> None:
    institution = await make_institution(session, clock=clock)
    token = await _signed_in_admin(session, clock, client, institution)
    before = await counts(session)

    response = await client.post(
        "/admin/institution",
        data=_form(institution, csrf_token=token, region_code="990000", name="<b>新</b>"),
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert 'id="error-region_code"' in response.text and 'id="error-name"' in response.text
    assert "&lt;b&gt;新&lt;/b&gt;" in response.text
    assert await counts(session) == before


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"is_internet_hospital": ""}, 422, "is_internet_hospital"),  # the licence is kept
        ({"name": "已有名称的医院"}, 409, "name"),
    ],
)
async def test_a_refused_form_leaves_the_institution_as_it_was(
    session, clock, client, changes, status, field
) -> None:
    await make_institution(session, clock=clock, name="已有名称的医院")
    institution = await make_institution(session, clock=clock)
    token = await _signed_in_admin(session, clock, client, institution)
    name = institution.name

    response = await client.post(
        "/admin/institution", data=_form(institution, csrf_token=token, **changes)
    )

    assert response.status_code == status
    assert f'id="error-{field}"' in response.text
    await session.refresh(institution)
    assert (institution.name, institution.is_internet_hospital) == (name, True)


async def test_the_admin_cannot_open_another_institution(session, clock, client) -> None:
    own = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    token = await _signed_in_admin(session, clock, client, own)

    page = await client.get("/admin/institution", params={"institution_id": other.id})
    post = await client.post(
        f"/admin/institution?institution_id={other.id}",
        data=_form(other, csrf_token=token, phone="010-1"),
    )

    assert page.status_code == 403
    assert post.status_code == 403
    await session.refresh(other)
    assert other.phone != "010-1"
