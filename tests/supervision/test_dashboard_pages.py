"""The supervision dashboard's pages: the regulator's figures in tables whose every number links
to its cases, the charts' data embedded as JSON with the same numbers, the cases of a figure
with links to their timelines, bad dates shown next to their field, the institution admin's own
metrics, Chinese by default and English when asked."""

from __future__ import annotations

import json
import re

from tests.supervision.dashboard_builders import make_dashboard_world
from tests.web.builders import sign_in_as

PERIOD = "from=2026-11-01&to=2026-11-23"
ENGLISH = {"Accept-Language": "en"}


async def test_a_regulator_reads_the_dashboard_and_follows_a_number_to_its_cases(
    client, session, clock
):
    world = await make_dashboard_world(session, clock)
    await sign_in_as(session, client, account=world.regulator, clock=clock)

    page = await client.get(f"/regulator/dashboard?{PERIOD}")
    assert page.status_code == 200, page.text
    assert "监管驾驶舱" in page.text and world.chaoyang.institution.name in page.text
    assert world.wuhan.institution.name not in page.text
    assert "/static/vendor/echarts/echarts.min.js" in page.text
    assert "/static/js/dashboard-charts.js" in page.text
    chaoyang = world.chaoyang.institution.id
    link = (
        f'href="/regulator/dashboard/cases?metric=appointments_no_show&amp;from=2026-11-01'
        f'&amp;to=2026-11-23&amp;institution_id={chaoyang}">1</a>'
    )
    assert link in page.text
    assert "33.3%" in page.text  # 朝阳's no-show rate, 1 of 3
    assert 'id="region-110105"' in page.text and "按地区" in page.text
    assert "metric=alerts&amp;from=2026-11-01&amp;to=2026-11-23&amp;region_code=110108" in page.text
    assert "10 分钟" in page.text  # 朝阳's median response time

    data = re.search(
        r'<script type="application/json" id="dashboard-data">(.*?)</script>', page.text, re.S
    )
    assert data is not None
    chart = json.loads(data.group(1))
    position = chart["institutions"].index(world.chaoyang.institution.name)
    [rejection, no_show, complaint] = chart["rates"]
    assert (rejection["data"][position], no_show["data"][position]) == (50.0, 33.3)
    assert chart["times"][0]["data"][position] == 10.0  # minutes
    assert sum(sum(series["data"]) for series in chart["alerts"]) == 4

    cases = await client.get(
        f"/regulator/dashboard/cases?metric=consultations_accepted&{PERIOD}&institution_id={chaoyang}"
    )
    assert cases.status_code == 200, cases.text
    for consultation in world.chaoyang.consultations:
        url = f'href="/regulator/cases/consultation/{consultation.id}"'
        accepted = consultation.accepted_at is not None and consultation.created_at.month == 11
        assert (url in cases.text) == accepted
    assert "40 分钟" in cases.text and "4 个病例" in cases.text
    prescriptions = await client.get(f"/regulator/dashboard/cases?metric=prescriptions&{PERIOD}")
    assert f'href="/regulator/cases/prescription/{world.chaoyang.prescriptions[0].id}"' in (
        prescriptions.text
    )

    english = await client.get(f"/regulator/dashboard?{PERIOD}", headers=ENGLISH)
    assert "Supervision dashboard" in english.text and "No-show rate" in english.text
    english_chart = re.search(r'id="dashboard-data">(.*?)</script>', english.text, re.S)
    assert english_chart is not None and "Median response time" in english_chart.group(1)


async def test_bad_dates_are_shown_next_to_their_field(client, session, clock):
    world = await make_dashboard_world(session, clock)
    await sign_in_as(session, client, account=world.regulator, clock=clock)
    reversed_period = await client.get("/regulator/dashboard?from=2026-11-20&to=2026-11-01")
    assert reversed_period.status_code == 422
    assert 'id="error-to"' in reversed_period.text and "dashboard-data" not in reversed_period.text
    malformed = await client.get("/regulator/dashboard?from=2026-02-30")
    assert malformed.status_code == 422 and 'id="error-from"' in malformed.text
    other_region = await client.get(
        f"/regulator/dashboard?institution_id={world.wuhan.institution.id}"
    )
    assert other_region.status_code == 404
    cases = await client.get(
        "/regulator/dashboard/cases?metric=alerts&from=2026-11-20&to=2026-11-01"
    )
    assert cases.status_code == 422


async def test_an_institution_admin_reads_their_own_metrics(client, session, clock):
    world = await make_dashboard_world(session, clock)
    await sign_in_as(session, client, account=world.haidian.admin, clock=clock)
    page = await client.get(f"/admin/supervision/metrics?{PERIOD}")
    assert page.status_code == 200, page.text
    assert world.haidian.institution.name in page.text
    assert world.chaoyang.institution.name not in page.text
    assert 'name="institution_id"' not in page.text  # one institution: nothing to choose
    assert 'href="/admin/supervision/metrics/cases?metric=consultations' in page.text
    home = await client.get("/")
    assert 'href="/admin/supervision/metrics"' in home.text
    cases = await client.get(f"/admin/supervision/metrics/cases?metric=reviews&{PERIOD}")
    assert cases.status_code == 200 and "1 个病例" in cases.text
    # each case links to its timeline, which an admin may open for their own institution
    [timeline] = re.findall(r'href="(/regulator/cases/consultation/\d+)"', cases.text)
    assert (await client.get(timeline)).status_code == 200
