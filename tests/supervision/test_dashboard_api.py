"""The supervision dashboard over HTTP: the figures of a seeded region are exactly the known
ones (volumes, medians, rates, alerts by rule and severity), every figure's drill-down lists as
many cases as it counts, filters narrow both alike, a regulator sees only their region (another
region's institution is not found), bad periods are refused naming the field, and reading the
cases is audited."""

from __future__ import annotations

from typing import Any

import pytest

from ihospital.errors import PROBLEM_JSON
from ihospital.supervision.metrics import METRICS
from tests.directory.builders import bearer
from tests.supervision.builders import audit_of
from tests.supervision.dashboard_builders import FROM, TO, make_dashboard_world

URL = "/api/regulator/dashboard"
PERIOD = {"from": FROM.isoformat(), "to": TO.isoformat()}
EN = {"Accept-Language": "en"}


def _row(body: dict[str, Any], institution_id: int) -> dict[str, Any]:
    [row] = [row for row in body["institutions"] if row["institution_id"] == institution_id]
    return row


async def _all_cases(client, headers, **params: Any) -> list[dict[str, Any]]:  # noqa: ANN001
    items, page = [], 1
    while True:
        answer = await client.get(f"{URL}/cases", params={**params, "page": page}, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        if len(items) >= body["total"]:
            return items
        page += 1


async def test_a_regulator_reads_the_known_figures_of_their_region(client, session, clock):
    world = await make_dashboard_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.regulator)

    answer = await client.get(URL, params=PERIOD, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["from_day"], body["to_day"]) == (FROM.isoformat(), TO.isoformat())
    ids = {row["institution_id"] for row in body["institutions"]}
    assert world.chaoyang.institution.id in ids and world.haidian.institution.id in ids
    assert world.wuhan.institution.id not in ids

    chaoyang = _row(body, world.chaoyang.institution.id)
    assert chaoyang["consultations_by_type"] == {"text": 3, "voice": 1, "video": 1}
    counts = chaoyang["counts"]
    assert (counts["consultations"], counts["consultations_accepted"]) == (5, 4)
    assert (counts["prescriptions"], counts["prescriptions_reviewed"]) == (3, 2)
    assert (counts["prescriptions_rejected"], counts["pharmacy_orders"]) == (1, 1)
    assert (counts["appointments"], counts["appointments_marked"]) == (4, 3)
    assert (counts["appointments_no_show"], counts["reviews"], counts["complaints"]) == (1, 3, 2)
    assert chaoyang["response_median_seconds"] == 600
    assert chaoyang["review_median_seconds"] == 120
    assert chaoyang["rejection_rate"] == pytest.approx(0.5)
    assert chaoyang["no_show_rate"] == pytest.approx(1 / 3)
    assert chaoyang["complaint_rate"] == pytest.approx(2 / 3)
    assert chaoyang["alerts"] == [
        {"rule_id": "R06", "severity": "high", "count": 1},
        {"rule_id": "R13.3", "severity": "medium", "count": 2},
    ]

    haidian = _row(body, world.haidian.institution.id)
    assert haidian["response_median_seconds"] == 1800
    assert haidian["no_show_rate"] == 0 and haidian["complaint_rate"] == 1

    assert [(row["region_code"], row["name"]) for row in body["regions"]] == [
        ("110105", "北京市朝阳区"),
        ("110108", "北京市海淀区"),
    ]
    assert body["regions"][0]["counts"] == counts
    assert body["regions"][1]["response_median_seconds"] == 1800

    total = body["total"]
    assert total["institution_id"] is None and total["region_code"] is None
    assert total["counts"]["consultations"] == 6 and total["counts"]["alerts"] == 4
    assert total["response_median_seconds"] == 1200  # 5, 10, 20, 30, 40 minutes
    assert total["review_median_seconds"] == 360  # 2, 6, 10 minutes
    assert total["rejection_rate"] == pytest.approx(1 / 3)
    assert total["no_show_rate"] == pytest.approx(1 / 4)


async def test_every_figure_lists_exactly_the_cases_it_counts(client, session, clock):
    world = await make_dashboard_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.regulator)
    body = (await client.get(URL, params=PERIOD, headers=headers)).json()

    for metric in METRICS:
        cases = await _all_cases(client, headers, metric=metric, **PERIOD)
        assert len(cases) == body["total"]["counts"][metric], metric
        assert len({(case["kind"], case["id"]) for case in cases}) == len(cases), metric
        for row in body["institutions"]:
            mine = [case for case in cases if case["institution_id"] == row["institution_id"]]
            narrowed = await _all_cases(
                client, headers, metric=metric, institution_id=row["institution_id"], **PERIOD
            )
            assert len(mine) == len(narrowed) == row["counts"][metric], (metric, row)

        for row in body["regions"]:
            narrowed = await _all_cases(
                client, headers, metric=metric, region_code=row["region_code"], **PERIOD
            )
            assert len(narrowed) == row["counts"][metric], (metric, row)

    accepted = await _all_cases(
        client,
        headers,
        metric="consultations_accepted",
        institution_id=world.chaoyang.institution.id,
        **PERIOD,
    )
    assert sorted(case["seconds"] for case in accepted) == [300, 600, 1200, 2400]
    assert {case["case_url"] for case in accepted} == {
        f"/regulator/cases/consultation/{case['id']}" for case in accepted
    }
    rejected = await _all_cases(client, headers, metric="prescriptions_rejected", **PERIOD)
    assert [case["case_url"] for case in rejected] == [
        f"/regulator/cases/prescription/{world.chaoyang.prescriptions[1].id}"
    ]
    [order] = await _all_cases(client, headers, metric="pharmacy_orders", **PERIOD)
    approved = world.chaoyang.prescriptions[0]
    assert order["case_url"] == f"/regulator/cases/prescription/{approved.id}"
    no_shows = await _all_cases(client, headers, metric="appointments_no_show", **PERIOD)
    assert [(case["kind"], case["label"], case["day"]) for case in no_shows] == [
        ("appointment", "no_show", "2026-11-20")
    ]


async def test_breakdown_filters_narrow_the_cases_to_the_number_shown(client, session, clock):
    world = await make_dashboard_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.regulator)
    voice = await _all_cases(
        client, headers, metric="consultations", consultation_type="voice", **PERIOD
    )
    assert [case["label"] for case in voice] == ["voice"]
    medium = await _all_cases(
        client, headers, metric="alerts", rule_id="R13.3", severity="medium", **PERIOD
    )
    assert len(medium) == 3
    assert {case["case_url"] for case in medium} == {
        f"/supervision/alerts/{case['id']}" for case in medium
    }
    high = await _all_cases(
        client,
        headers,
        metric="alerts",
        severity="high",
        institution_id=world.chaoyang.institution.id,
        **PERIOD,
    )
    assert [case["id"] for case in high] == [world.chaoyang.alerts[2].id]

    refused = await client.get(
        f"{URL}/cases",
        params={"metric": "prescriptions", "rule_id": "R06", **PERIOD},
        headers=headers,
    )
    assert refused.status_code == 422
    assert (refused.json()["code"], refused.json()["field"]) == (
        "supervision.metrics_filter_not_applicable",
        "rule_id",
    )


async def test_the_period_decides_what_counts(client, session, clock):
    world = await make_dashboard_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.regulator)
    october = {"from": "2026-10-01", "to": "2026-10-31"}
    body = (await client.get(URL, params=october, headers=headers)).json()
    chaoyang = _row(body, world.chaoyang.institution.id)["counts"]
    assert chaoyang["consultations"] == 1 and chaoyang["prescriptions"] == 1
    assert chaoyang["appointments_no_show"] == 1 and chaoyang["complaints"] == 1
    assert chaoyang["alerts"] == 1 and chaoyang["pharmacy_orders"] == 0
    assert _row(body, world.chaoyang.institution.id)["response_median_seconds"] == 99 * 60

    default = (await client.get(URL, headers=headers)).json()  # the last 30 days to today
    assert (default["from_day"], default["to_day"]) == ("2026-10-25", "2026-11-23")


async def test_another_regions_institution_is_not_found(client, session, clock):
    world = await make_dashboard_world(session, clock)
    wuhan = world.wuhan.institution.id
    for account in (world.regulator, world.chaoyang.admin):
        headers = await bearer(session, clock=clock, account=account)
        for url, extra in ((URL, {}), (f"{URL}/cases", {"metric": "consultations"})):
            answer = await client.get(
                url, params={"institution_id": wuhan, **extra}, headers=headers
            )
            assert answer.status_code == 404, answer.text
            assert answer.headers["content-type"].startswith(PROBLEM_JSON)
            assert answer.json()["code"] == "supervision.metrics_institution_not_found"
    headers = await bearer(session, clock=clock, account=world.regulator)
    for region_code, status in (("420102", 404), ("420000", 404), ("11010", 422)):
        answer = await client.get(URL, params={"region_code": region_code}, headers=headers)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    refused = await client.get(
        f"{URL}/cases", params={"metric": "alerts", "region_code": "420102"}, headers=headers
    )
    assert refused.json()["code"] == "supervision.metrics_region_not_found"
    haidian = await client.get(URL, params={"region_code": "110108", **PERIOD}, headers=headers)
    assert [row["name"] for row in haidian.json()["regions"]] == ["北京市海淀区"]

    headers = await bearer(session, clock=clock, account=world.wuhan_regulator)
    body = (await client.get(URL, params=PERIOD, headers=headers)).json()
    assert [row["institution_id"] for row in body["institutions"]] == [wuhan]
    assert body["total"]["counts"]["consultations"] == 1


async def test_an_institution_admin_reads_only_their_own_institution(client, session, clock):
    world = await make_dashboard_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.haidian.admin)
    body = (await client.get(URL, params=PERIOD, headers=headers)).json()
    assert [row["institution_id"] for row in body["institutions"]] == [world.haidian.institution.id]
    assert body["total"]["counts"]["consultations"] == 1
    cases = await _all_cases(client, headers, metric="consultations", **PERIOD)
    assert [case["institution_id"] for case in cases] == [world.haidian.institution.id]
    # the timeline of a case of their own institution is open to them too
    assert cases[0]["case_url"] == f"/regulator/cases/consultation/{cases[0]['id']}"


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"from": "2026-11-20", "to": "2026-11-01"}, "to", "billing.period_reversed"),
        ({"from": "2025-01-01", "to": "2026-11-01"}, "from", "billing.period_too_long"),
        ({"to": "2026-12-01"}, "to", "billing.period_in_future"),
        ({"from": "2026-13-01"}, "from", None),
        ({"to": "yesterday"}, "to", None),
    ],
)
async def test_a_bad_period_is_refused_naming_the_field(
    client, session, clock, params, field, code
):
    world = await make_dashboard_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.regulator)
    for url, extra in ((URL, {}), (f"{URL}/cases", {"metric": "alerts"})):
        answer = await client.get(url, params={**params, **extra}, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        problem = answer.json()
        assert field in (problem.get("field"), *(e.get("field") for e in problem.get("errors", [])))
        if code:
            assert problem["code"] == code
        english = await client.get(url, params={**params, **extra}, headers={**headers, **EN})
        assert english.json()["detail"] != problem["detail"]  # translated both ways


async def test_reading_cases_is_audited_with_the_ids_shown(client, session, clock):
    world = await make_dashboard_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.regulator)
    await client.get(URL, params=PERIOD, headers=headers)
    cases = await _all_cases(client, headers, metric="prescriptions", **PERIOD)
    [entry] = await audit_of(session, "supervision.dashboard_cases_read")
    assert entry.actor_account_id == world.regulator.id
    assert '"ids"' in entry.details and all(str(case["id"]) in entry.details for case in cases)
    assert len(await audit_of(session, "supervision.dashboard_read")) == 1
