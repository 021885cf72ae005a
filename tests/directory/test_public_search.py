"""The public doctor search: every filter, only verified doctors, the order, the pages."""

import pytest

from ihospital.core.context import Actor
from ihospital.directory.search import search_doctors
from ihospital.errors import Unprocessable
from tests.directory.builders import make_doctor, make_institution


@pytest.fixture
async def directory(session, clock):
    beijing = await make_institution(session, clock=clock, name="北京协和测试医院")
    wuhan = await make_institution(
        session, clock=clock, name="武汉江城测试医院", region_code="420106", region_name="武昌区"
    )
    doctors = {
        "张三丰": await make_doctor(session, clock=clock, institution=beijing, title="主治医师"),
        "李四": await make_doctor(
            session, clock=clock, institution=beijing, name="李四", title="主任医师"
        ),
        "王五": await make_doctor(
            session, clock=clock, institution=wuhan, name="王五", department="07"
        ),
        "赵六": await make_doctor(
            session, clock=clock, institution=wuhan, name="赵六", status="pending"
        ),
    }
    return beijing, wuhan, doctors


async def _names(session, clock, **filters):
    result = await search_doctors(session, Actor(role="anonymous", clock=clock), **filters)
    return [doctor.name for doctor in result.items]


async def test_only_verified_doctors_highest_title_first_then_by_pinyin(session, clock, directory):
    assert await _names(session, clock) == ["李四", "王五", "张三丰"]


async def test_each_filter_narrows_the_list(session, clock, directory):
    beijing, wuhan, _ = directory
    assert await _names(session, clock, department="03") == ["李四", "张三丰"]  # 03.04 too
    assert await _names(session, clock, department="07") == ["王五"]
    assert await _names(session, clock, institution_id=wuhan.id) == ["王五"]
    assert await _names(session, clock, region_code="110000") == ["李四", "张三丰"]
    assert await _names(session, clock, region_code="420100") == ["王五"]
    assert await _names(session, clock, title="主任医师") == ["李四"]


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("张三", ["张三丰"]),
        ("zsf", ["张三丰"]),
        ("zhangsanfeng", ["张三丰"]),
        ("ZSF", ["张三丰"]),
        ("江城", ["王五"]),
        ("儿科", ["王五"]),
        ("%", []),
        ("_", []),
        ("' OR '1'='1", []),
    ],
)
async def test_text_matches_names_pinyin_institutions_and_departments_literally(
    session, clock, directory, q, names
):
    assert await _names(session, clock, q=q) == names


async def test_pages_cover_every_doctor_once(session, clock, directory):
    actor = Actor(role="anonymous", clock=clock)
    seen = []
    for page in (1, 2):
        result = await search_doctors(session, actor, page=page, page_size=2)
        assert result.total == 3
        seen += [doctor.name for doctor in result.items]
    assert seen == ["李四", "王五", "张三丰"]
    past_the_end = await search_doctors(session, actor, page=3, page_size=2)
    assert (past_the_end.items, past_the_end.total) == ([], 3)
    with pytest.raises(Unprocessable) as refused:
        await search_doctors(session, actor, page_size=51)
    assert refused.value.fields["field"] == "page_size"


async def test_the_api_answers_pages_with_totals(client, directory):
    response = await client.get("/api/doctors", params={"q": "zsf", "page_size": 5})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], [d["name"] for d in body["items"]]) == (1, ["张三丰"])
    html = (await client.get("/doctors", params={"q": "zsf"})).text
    assert "张三丰" in html and "李四" not in html
