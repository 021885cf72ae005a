"""The dashboard's figures computed by the database: the medians the window functions pick are
the lower medians Python takes of the same durations (odd and even counts, ties, one value),
per institution and over the region; and the figures cost the same number of queries however
many institutions and cases there are."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ihospital.consultation.statistics import percentile
from ihospital.core.context import Actor
from ihospital.supervision.dashboard import dashboard
from tests.directory.test_search import counted_queries
from tests.supervision.dashboard_builders import (
    FROM,
    TO,
    consultation,
    make_dashboard_world,
    make_site,
)


def _regulator(world, clock) -> Actor:  # noqa: ANN001
    return Actor(
        role="regulator",
        clock=clock,
        account_id=world.regulator.id,
        region_code=world.regulator.region_code,
    )


@pytest.mark.parametrize(
    "waits",
    [[7], [3, 1], [9, 2, 2, 5, 1, 30], [4, 4, 4], [1, 2, 3, 4, 5, 6, 7], [1440, 1, 61, 59]],
)
async def test_the_median_is_the_lower_median_of_the_durations(session, clock, waits):
    world = await make_dashboard_world(session, clock)
    extra = await make_site(session, clock, "110101", "北京市东城区")
    for minutes in waits:
        await consultation(session, extra, world.patient, wait_minutes=minutes)

    found = await dashboard(session, _regulator(world, clock), start=FROM, end=TO)
    [row] = [row for row in found.rows if row.institution_id == extra.institution.id]
    expected = percentile([timedelta(minutes=minutes) for minutes in waits], 0.5)
    assert expected is not None
    assert row.response_median_seconds == expected.total_seconds()
    neighbour = await make_site(session, clock, "110105", "北京市朝阳区")  # 朝阳's region
    await consultation(session, neighbour, world.patient, wait_minutes=waits[0])
    found = await dashboard(session, _regulator(world, clock), start=FROM, end=TO)
    [chaoyang] = [row for row in found.regions if row.region_code == "110105"]
    in_chaoyang = percentile([timedelta(minutes=m) for m in (10, 20, 40, 5, waits[0])], 0.5)
    assert in_chaoyang is not None
    assert chaoyang.response_median_seconds == in_chaoyang.total_seconds()
    region = [5, 10, 20, 30, 40, *waits, waits[0]]  # the region's accepted consultations
    overall = percentile([timedelta(minutes=minutes) for minutes in region], 0.5)
    assert overall is not None and found.total.response_median_seconds == overall.total_seconds()


async def test_the_figures_cost_the_same_queries_for_more_institutions_and_cases(
    session, clock, engine
):
    world = await make_dashboard_world(session, clock)
    actor = _regulator(world, clock)

    async def queries() -> int:
        with counted_queries(engine) as statements:
            await dashboard(session, actor, start=FROM, end=TO)
        return len(statements)

    await queries()  # the first writes what the builders left to flush
    before = await queries()
    for region in ("110101", "110102", "110106"):
        site = await make_site(session, clock, region, "北京市")
        for minutes in (1, 2, 3):
            await consultation(session, site, world.patient, wait_minutes=minutes)
    assert await queries() == before
    assert before <= 20
