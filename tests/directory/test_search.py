"""The public doctor directory: search_doctors, GET /api/doctors and the /doctors page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from ihospital.core.clock import FrozenClock
from ihospital.directory.pinyin import NamePinyin, name_pinyin, phrase_pinyin
from ihospital.directory.search import search_doctors
from ihospital.directory.sites import SiteInput
from ihospital.errors import Unprocessable
from tests.directory.builders import make_doctor, make_institution, system


def _names(result) -> list[str]:  # noqa: ANN001
    return [view.name for view in result.items]


async def test_a_department_includes_its_sub_specialties(session, clock) -> None:
    institution = await make_institution(session, clock=clock)
    await make_doctor(
        session, clock=clock, institution=institution, name="心内科", department="03.04"
    )
    await make_doctor(session, clock=clock, institution=institution, name="大内科", department="03")
    await make_doctor(
        session, clock=clock, institution=institution, name="骨外科", department="04.03"
    )
    actor = system(clock)

    internal = await search_doctors(session, actor, department="03", institution_id=institution.id)
    cardiology = await search_doctors(
        session, actor, department="03.04", institution_id=institution.id
    )

    assert sorted(_names(internal)) == sorted(["心内科", "大内科"])
    assert _names(cardiology) == ["心内科"]


async def test_an_unknown_department_is_refused_naming_the_field(session, clock) -> None:
    with pytest.raises(Unprocessable) as refused:
        await search_doctors(session, system(clock), department="99.99")
    assert refused.value.fields["field"] == "department"


async def test_institution_filter_covers_other_practice_sites(session, clock) -> None:
    home = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)
    site = SiteInput(institution_id=other.id, department_code="03.04", filing_number="备案1")
    await make_doctor(session, clock=clock, institution=home, name="多点", sites=[site])
    await make_doctor(session, clock=clock, institution=home, name="单点")

    result = await search_doctors(session, system(clock), institution_id=other.id)

    assert _names(result) == ["多点"]


async def test_region_by_province_city_and_district(session, clock) -> None:
    chaoyang = await make_institution(session, clock=clock, region_code="110105")
    haidian = await make_institution(session, clock=clock, region_code="110108")
    shanghai = await make_institution(session, clock=clock, region_code="310104")
    await make_doctor(session, clock=clock, institution=chaoyang, name="朝阳")
    await make_doctor(session, clock=clock, institution=haidian, name="海淀")
    await make_doctor(session, clock=clock, institution=shanghai, name="徐汇")
    actor = system(clock)

    async def names(region: str) -> set[str]:
        return set(_names(await search_doctors(session, actor, region_code=region)))

    assert {"朝阳", "海淀"} <= await names("110000")
    assert "徐汇" not in await names("110000")
    assert {"朝阳", "海淀"} <= await names("110100")
    assert "朝阳" not in await names("110108")
    assert "海淀" in await names("110108")
    assert "徐汇" in await names("310000")


async def test_an_invalid_region_code_is_refused_naming_the_field(session, clock) -> None:
    with pytest.raises(Unprocessable) as refused:
        await search_doctors(session, system(clock), region_code="990000")
    assert refused.value.fields["field"] == "region_code"


async def test_title_filter_and_unknown_title(session, clock) -> None:
    institution = await make_institution(session, clock=clock)
    await make_doctor(session, clock=clock, institution=institution, name="主任", title="主任医师")
    await make_doctor(session, clock=clock, institution=institution, name="住院", title="住院医师")
    actor = system(clock)

    result = await search_doctors(session, actor, title="主任医师", institution_id=institution.id)

    assert _names(result) == ["主任"]
    with pytest.raises(Unprocessable) as refused:
        await search_doctors(session, actor, title="院长")
    assert refused.value.fields["field"] == "title"


@pytest.mark.parametrize(
    "q", ["张三丰", "三丰", "zsf", "ZSF", "zhangsanfeng", "San Feng", "sanfeng"]
)
async def test_name_pinyin_and_initials_find_the_doctor(session, clock, q) -> None:
    institution = await make_institution(session, clock=clock)
    await make_doctor(session, clock=clock, institution=institution, name="张三丰")
    await make_doctor(session, clock=clock, institution=institution, name="李四")

    result = await search_doctors(session, system(clock), q=q, institution_id=institution.id)

    assert _names(result) == ["张三丰"]


async def test_institution_and_department_names_find_the_doctor(session, clock) -> None:
    institution = await make_institution(session, clock=clock, name="仁心医院甲")
    other = await make_institution(session, clock=clock, name="济世医院乙")
    await make_doctor(session, clock=clock, institution=institution, name="王一", department="07")
    await make_doctor(session, clock=clock, institution=other, name="王二", department="03.04")
    actor = system(clock)

    assert _names(await search_doctors(session, actor, q="仁心医院")) == ["王一"]
    assert _names(await search_doctors(session, actor, q="济世", department="03")) == ["王二"]
    assert "王二" in _names(await search_doctors(session, actor, q="心血管内科"))
    assert "王二" in _names(await search_doctors(session, actor, q="cardiology"))


@pytest.mark.parametrize("status", ["draft", "pending", "rejected", "suspended"])
async def test_only_verified_doctors_appear(session, clock, client, status) -> None:
    institution = await make_institution(session, clock=clock)
    hidden = await make_doctor(
        session, clock=clock, institution=institution, name="隐藏", status=status
    )
    await make_doctor(session, clock=clock, institution=institution, name="可见")

    result = await search_doctors(session, system(clock), institution_id=institution.id)
    listed = await client.get("/api/doctors", params={"institution_id": institution.id})
    profile = await client.get(f"/api/doctors/{hidden.id}")

    assert _names(result) == ["可见"]
    assert [item["name"] for item in listed.json()["items"]] == ["可见"]
    assert profile.status_code == 404


async def test_order_is_title_then_name_then_id(session, clock) -> None:
    institution = await make_institution(session, clock=clock)
    made = [
        await make_doctor(session, clock=clock, institution=institution, name=name, title=title)
        for name, title in [
            ("赵六", "住院医师"),
            ("王五", "主治医师"),
            ("李四", "主任医师"),
            ("陈七", "副主任医师"),
            ("安八", "主任医师"),
            ("李四", "主任医师"),
        ]
    ]

    result = await search_doctors(session, system(clock), institution_id=institution.id)

    first_li, second_li = made[2].id, made[5].id
    assert [(view.name, view.id) for view in result.items] == [
        ("安八", made[4].id),
        ("李四", first_li),
        ("李四", second_li),
        ("陈七", made[3].id),
        ("王五", made[1].id),
        ("赵六", made[0].id),
    ]


async def test_pages_total_and_a_page_past_the_end(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    for index in range(5):
        await make_doctor(
            session, clock=clock, institution=institution, name=f"医生{'甲乙丙丁戊'[index]}"
        )
    params = {"institution_id": institution.id, "page_size": 2}

    pages = [
        (await client.get("/api/doctors", params={**params, "page": page})).json()
        for page in (1, 2, 3, 4)
    ]

    assert [page["total"] for page in pages] == [5, 5, 5, 5]
    assert [len(page["items"]) for page in pages] == [2, 2, 1, 0]
    seen = [item["id"] for page in pages for item in page["items"]]
    assert len(set(seen)) == 5
    service = await search_doctors(
        session, system(clock), institution_id=institution.id, page=3, page_size=2
    )
    assert (service.total, service.page, service.pages, len(service.items)) == (5, 3, 3, 1)


@pytest.mark.parametrize("page_size", ["0", "51", "x"])
async def test_an_invalid_page_size_is_a_problem_naming_the_field(client, page_size) -> None:
    response = await client.get("/api/doctors", params={"page_size": page_size})

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == "page_size"


@pytest.mark.parametrize("page_size", [0, 51])
async def test_the_service_refuses_an_invalid_page_size(session, clock, page_size) -> None:
    with pytest.raises(Unprocessable) as refused:
        await search_doctors(session, system(clock), page_size=page_size)
    assert refused.value.fields["field"] == "page_size"


@pytest.mark.parametrize(
    ("q", "names"), [("'", ["特殊"]), ("50'", ["特殊"]), ("%", []), ("_", []), ("5_'", [])]
)
async def test_like_and_quote_characters_are_matched_literally(
    session, clock, client, q, names
) -> None:
    plain = await make_institution(session, clock=clock, name="普通医院丙")
    marked = await make_institution(session, clock=clock, name="第50'医院")
    await make_doctor(session, clock=clock, institution=plain, name="普通")
    await make_doctor(session, clock=clock, institution=marked, name="特殊")

    result = await search_doctors(session, system(clock), q=q)
    response = await client.get("/api/doctors", params={"q": q})

    assert _names(result) == names
    assert response.status_code == 200
    assert [item["name"] for item in response.json()["items"]] == names


async def test_the_page_lists_matching_doctors_escaped_query_kept(session, clock, client) -> None:
    institution = await make_institution(session, clock=clock)
    await make_doctor(session, clock=clock, institution=institution, name="张三丰")
    await make_doctor(session, clock=clock, institution=institution, name="李四")

    response = await client.get("/doctors", params={"q": "zsf", "institution_id": institution.id})
    empty = await client.get("/doctors", params={"q": "<b>zzz</b>"})

    assert response.status_code == 200
    assert "张三丰" in response.text
    assert "李四" not in response.text
    assert "<b>zzz</b>" not in empty.text
    assert "&lt;b&gt;zzz&lt;/b&gt;" in empty.text


async def test_the_page_shows_a_bad_filter_beside_the_form(client) -> None:
    response = await client.get("/doctors", params={"department": "99.99"})

    assert response.status_code == 422
    assert "99.99" in response.text


@contextmanager
def counted_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


@pytest.mark.parametrize("path", ["/doctors", "/api/doctors"])
async def test_a_page_of_results_costs_the_same_queries_for_3_or_15_doctors(
    session, clock: FrozenClock, client, engine, path
) -> None:
    institution = await make_institution(session, clock=clock)
    other = await make_institution(session, clock=clock)

    async def add(count: int) -> None:
        for _ in range(count):
            site = SiteInput(institution_id=other.id, department_code="07", filing_number="备案")
            await make_doctor(session, clock=clock, institution=institution, sites=[site])

    async def queries() -> int:
        with counted_queries(engine) as statements:
            response = await client.get(path, params={"institution_id": institution.id})
        assert response.status_code == 200
        return len(statements)

    await add(3)
    await queries()
    with_3 = await queries()
    await add(12)
    with_15 = await queries()

    assert with_15 == with_3
    assert with_3 <= 8


def test_a_phrase_is_read_in_everyday_readings_a_name_with_surname_readings() -> None:
    assert phrase_pinyin("单纯疱疹") == NamePinyin("danchunpaozhen", "dcpz")
    assert name_pinyin("单田芳").full == "shantianfang"
