"""R15: a data leak the institution admin records must be reported to the health authority
within the region's hours; the alert opens at the deadline unless it was reported by then.
Bad input changes nothing; another institution's admin cannot touch it; regulators read their
region's incidents; every change and read is audited."""

from datetime import timedelta

from sqlalchemy import func, select

from ihospital.errors import PROBLEM_JSON
from ihospital.outbox.models import OutboxEvent
from ihospital.supervision.incidents import REPORT_DUE
from ihospital.supervision.models import DataIncident
from ihospital.supervision.rule_settings import set_thresholds
from tests.directory.builders import bearer, make_institution, make_staff
from tests.prescribing.review_builders import run_worker
from tests.supervision.builders import alerts_of, audit_of, make_world

EN = {"Accept-Language": "en"}


def _incident(clock, hours_ago: int = 1) -> dict:
    return {
        "summary": "导出的就诊人名单误发至外部邮箱",
        "affected_people": 120,
        "discovered_at": (clock.now() - timedelta(hours=hours_ago)).isoformat(),
    }


async def _record(client, world, headers, body) -> dict:
    response = await client.post(
        f"/api/institutions/{world.institution.id}/supervision/data-incidents",
        json=body,
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_incident_not_reported_by_its_deadline_opens_an_alert(
    app, client, session, session_factory, clock
):
    world = await make_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.admin)
    incident = await _record(client, world, headers, _incident(clock))
    assert incident["report_due_at"].startswith(
        (clock.now() + timedelta(hours=23)).isoformat()[:13]
    )
    await session.commit()
    clock.advance(timedelta(hours=22))
    await run_worker(app, session_factory, clock)
    assert await alerts_of(session, "R15") == []  # not yet due

    clock.advance(timedelta(hours=2))
    await run_worker(app, session_factory, clock)
    [alert] = await alerts_of(session, "R15")
    assert (alert.subject, alert.severity, alert.patient_id) == (
        f"data_incident:{incident['id']}",
        "high",
        None,
    )
    headers = await bearer(session, clock=clock, account=world.admin)  # a day later
    late = await client.post(
        f"/api/supervision/data-incidents/{incident['id']}/report",
        json={"reference": "京卫网安2026-018"},
        headers=headers,
    )
    assert late.status_code == 200, late.text
    [entry] = await audit_of(session, "supervision.incident_reported")
    assert '"late": true' in entry.details


async def test_an_incident_reported_in_time_or_within_the_regions_hours_is_silent(
    app, client, session, session_factory, clock
):
    world = await make_world(session, clock)
    await set_thresholds(session, world.regulator_actor(clock), rule_id="R15", values={"hours": 48})
    headers = await bearer(session, clock=clock, account=world.admin)
    reported = await _record(client, world, headers, _incident(clock))
    response = await client.post(
        f"/api/supervision/data-incidents/{reported['id']}/report",
        json={"reference": "京卫网安2026-019"},
        headers=headers,
    )
    assert (response.status_code, response.json()["report_reference"]) == (
        200,
        "京卫网安2026-019",
    )
    await _record(client, world, headers, _incident(clock))  # due in 47 hours
    await session.commit()
    clock.advance(timedelta(hours=30))
    await run_worker(app, session_factory, clock)
    assert await alerts_of(session, "R15") == []


async def test_bad_input_is_refused_in_the_callers_language_and_writes_nothing(
    client, session, clock
):
    world = await make_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.admin) | EN
    url = f"/api/institutions/{world.institution.id}/supervision/data-incidents"
    cases = [
        ({**_incident(clock), "summary": "  "}, 422, "supervision.incident_summary_invalid"),
        ({**_incident(clock, hours_ago=-2)}, 422, "supervision.incident_discovered_future"),
        ({**_incident(clock), "discovered_at": "2026-11-20T08:00:00"}, 422, None),
        ({**_incident(clock), "affected_people": -1}, 422, None),
    ]
    for body, status, code in cases:
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        if code is not None:
            assert response.json()["code"] == code
    incident = await _record(client, world, headers, _incident(clock))
    blank = await client.post(
        f"/api/supervision/data-incidents/{incident['id']}/report",
        json={"reference": " "},
        headers=headers,
    )
    assert blank.json()["code"] == "supervision.incident_reference_invalid"
    assert "reference" in blank.json()["detail"]
    missing = await client.post(
        "/api/supervision/data-incidents/999999/report", json={"reference": "x"}, headers=headers
    )
    assert (missing.status_code, missing.json()["code"]) == (
        404,
        "supervision.incident_not_found",
    )
    assert await session.scalar(select(func.count()).select_from(DataIncident)) == 1
    timers = select(func.count()).where(OutboxEvent.topic == REPORT_DUE)
    assert await session.scalar(timers) == 1


async def test_only_the_institutions_admin_changes_it_and_regulators_read_their_region(
    client, session, clock
):
    world = await make_world(session, clock)
    admin = await bearer(session, clock=clock, account=world.admin)
    incident = await _record(client, world, admin, _incident(clock))
    other = await make_institution(session, clock=clock)
    stranger = await make_staff(session, clock=clock, institution=other, role="institution_admin")
    foreign = await bearer(session, clock=clock, account=stranger)
    refused = await client.post(
        f"/api/supervision/data-incidents/{incident['id']}/report",
        json={"reference": "x"},
        headers=foreign,
    )
    assert refused.status_code == 403
    elsewhere = await client.post(
        f"/api/institutions/{world.institution.id}/supervision/data-incidents",
        json=_incident(clock),
        headers=foreign,
    )
    assert elsewhere.status_code == 403
    assert (await client.get("/api/supervision/data-incidents", headers=foreign)).json() == []
    beijing = await bearer(session, clock=clock, account=world.regulator)
    wuhan = await bearer(session, clock=clock, account=world.other_regulator)
    listed = await client.get("/api/supervision/data-incidents", headers=beijing)
    assert [i["id"] for i in listed.json()] == [incident["id"]]
    assert (await client.get("/api/supervision/data-incidents", headers=wuhan)).json() == []
    assert len(await audit_of(session, "supervision.incidents_listed")) == 3
    assert len(await audit_of(session, "supervision.incident_recorded")) == 1
