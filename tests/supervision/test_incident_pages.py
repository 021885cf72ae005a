"""The data incident pages (R15): the admin records a leak discovered at a Beijing time, sees
its report deadline, and records the report; bad input is shown next to its field (422) and
writes nothing; the region's regulator reads the list without the forms; English on request."""

from datetime import timedelta

from sqlalchemy import func, select

from ihospital.core.clock import to_local
from ihospital.supervision.models import DataIncident
from tests.identity.builders import csrf_token
from tests.supervision.builders import make_world
from tests.web.builders import sign_in_as

PAGE = "/supervision/data-incidents"


async def _count(session) -> int:
    return await session.scalar(select(func.count()).select_from(DataIncident))


async def test_an_admin_records_a_leak_and_its_report_on_the_page(client, session, clock):
    world = await make_world(session, clock)
    await sign_in_as(session, client, account=world.admin, clock=clock)
    token = await csrf_token(client)
    discovered = to_local(clock.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "csrf_token": token,
        "summary": "导出的就诊人名单误发至外部邮箱",
        "affected_people": "120",
        "discovered_at": discovered,
    }

    for field, bad, message in (
        ("discovered_at", "昨天", "请填写事件的发现日期和时间"),
        ("affected_people", "-3", "请以 0 或以上的整数填写涉及人数"),
        ("summary", "   ", "请用 1 至 2000 个字描述事件"),
    ):
        refused = await client.post(PAGE, data={**form, field: bad})
        assert refused.status_code == 422 and message in refused.text, field
        assert f'id="error-{field}"' in refused.text
    assert await _count(session) == 0

    recorded = await client.post(PAGE, data=form)
    assert (recorded.status_code, recorded.headers["location"]) == (303, PAGE)
    [incident] = (await session.scalars(select(DataIncident))).all()
    assert to_local(incident.discovered_at).strftime("%Y-%m-%dT%H:%M") == discovered
    assert incident.report_due_at - incident.discovered_at == timedelta(hours=24)
    listing = await client.get(PAGE)
    assert "事件已登记" in listing.text and "导出的就诊人名单误发至外部邮箱" in listing.text
    reported = await client.post(
        f"{PAGE}/{incident.id}/report", data={"csrf_token": token, "reference": "京卫网安-7"}
    )
    assert reported.status_code == 303
    page = await client.get(PAGE)
    assert "事件报告已登记" in page.text and "京卫网安-7" in page.text
    again = await client.post(
        f"{PAGE}/{incident.id}/report", data={"csrf_token": token, "reference": "京卫网安-8"}
    )
    assert "该事件已报告" in (await client.get(again.headers["location"])).text


async def test_the_regulator_reads_the_regions_incidents_without_the_forms(client, session, clock):
    world = await make_world(session, clock)
    await sign_in_as(session, client, account=world.admin, clock=clock)
    discovered = to_local(clock.now()).strftime("%Y-%m-%dT%H:%M")
    form = {"summary": "服务器日志外泄", "affected_people": "3", "discovered_at": discovered}
    await client.post(PAGE, data={"csrf_token": await csrf_token(client), **form})
    await sign_in_as(session, client, account=world.regulator, clock=clock)
    page = await client.get(PAGE)
    assert page.status_code == 200 and "服务器日志外泄" in page.text
    assert "登记数据泄露事件" not in page.text and 'name="reference"' not in page.text
    english = await client.get(PAGE, headers={"Accept-Language": "en"})
    assert "Data leak incidents" in english.text and "Not reported" in english.text
