"""Supervision pages: the admin finds a new alert in the list, acknowledges it and resolves it
with a note (refused without one, next to the field); the admin's catalogue switches a rule the
regulations leave optional and refuses a mandatory one; the regulator sets a threshold. Pages
are in Chinese by default and in English when asked."""

from sqlalchemy import select

from ihospital.supervision.models import RuleSwitch, RuleThreshold
from tests.identity.builders import csrf_token
from tests.supervision.builders import make_world, open_alert
from tests.web.builders import sign_in_as

ENGLISH = {"Accept-Language": "en"}


async def test_an_admin_acknowledges_and_resolves_an_alert_on_its_page(client, session, clock):
    world = await make_world(session, clock)
    alert = await open_alert(session, clock, world)
    await sign_in_as(session, client, account=world.admin, clock=clock)

    listing = await client.get("/supervision/alerts")
    assert listing.status_code == 200
    assert "监管预警" in listing.text and f'href="/supervision/alerts/{alert.id}"' in listing.text
    assert "Supervision alerts" in (await client.get("/supervision/alerts", headers=ENGLISH)).text
    url = f"/supervision/alerts/{alert.id}"
    page = await client.get(url)
    assert "待处理" in page.text and "waited_minutes" in page.text

    token = await csrf_token(client)
    acknowledged = await client.post(f"{url}/acknowledge", data={"csrf_token": token})
    assert (acknowledged.status_code, acknowledged.headers["location"]) == (303, url)
    assert "已确认知悉该预警" in (await client.get(url)).text

    refused = await client.post(f"{url}/resolve", data={"csrf_token": token, "note": " "})
    assert refused.status_code == 422 and 'id="error-note"' in refused.text
    assert "请填写处理备注" in refused.text
    await session.refresh(alert)
    assert alert.status == "acknowledged"
    resolved = await client.post(f"{url}/resolve", data={"csrf_token": token, "note": "已整改"})
    assert resolved.status_code == 303
    after = await client.get(url)
    assert '<dd class="resolution-note">已整改</dd>' in after.text
    assert 'action="/supervision/alerts' not in after.text  # nothing left to do


async def test_a_regulator_of_another_region_gets_no_alert_page(client, session, clock):
    world = await make_world(session, clock)
    alert = await open_alert(session, clock, world)
    await sign_in_as(session, client, account=world.other_regulator, clock=clock)
    assert (await client.get(f"/supervision/alerts/{alert.id}")).status_code == 404
    assert "暂无预警" in (await client.get("/supervision/alerts")).text


async def test_an_admin_switches_rules_on_the_catalogue_page(client, session, clock):
    world = await make_world(session, clock)
    await sign_in_as(session, client, account=world.admin, clock=clock)
    page = await client.get("/admin/supervision/rules")
    assert page.status_code == 200
    assert 'action="/admin/supervision/rules/R13.3"' in page.text
    assert 'action="/admin/supervision/rules/R13.5"' not in page.text
    assert "始终执行" in page.text

    token = await csrf_token(client)
    off = await client.post("/admin/supervision/rules/R13.3", data={"csrf_token": token})
    assert off.status_code == 303
    mandatory = await client.post("/admin/supervision/rules/R13.5", data={"csrf_token": token})
    assert mandatory.status_code == 303
    assert "不能关闭" in (await client.get("/admin/supervision/rules")).text
    switches = (await session.scalars(select(RuleSwitch))).all()
    assert [(s.rule_id, s.enabled) for s in switches] == [("R13.3", False)]


async def test_a_regulator_sets_a_threshold_on_the_rules_page(client, session, clock):
    world = await make_world(session, clock)
    await sign_in_as(session, client, account=world.regulator, clock=clock)
    page = await client.get("/supervision/rules")
    assert page.status_code == 200 and 'name="max_wait_minutes"' in page.text

    token = await csrf_token(client)
    url = "/supervision/rules/R13.3"
    for bad in ("abc", "2"):
        refused = await client.post(url, data={"csrf_token": token, "max_wait_minutes": bad})
        assert refused.status_code == 303
    assert (await session.scalars(select(RuleThreshold))).all() == []
    saved = await client.post(url, data={"csrf_token": token, "max_wait_minutes": "90"})
    assert saved.status_code == 303
    [threshold] = (await session.scalars(select(RuleThreshold))).all()
    assert (threshold.region_code, threshold.value) == ("110000", 90)
    assert 'value="90"' in (await client.get("/supervision/rules")).text
