"""Alerts and rules over HTTP: the lifecycle open → acknowledged → resolved with who and when,
bad input as translated problem+json that changes nothing, an institution admin only of their
institution and a regulator only of their region, and every change and read audited."""

from sqlalchemy import select

from ihospital.errors import PROBLEM_JSON
from ihospital.supervision.models import RuleSwitch, RuleThreshold
from tests.directory.builders import bearer, make_institution
from tests.supervision.builders import alerts_of, audit_of, make_world, open_alert

EN = {"Accept-Language": "en"}


async def test_an_admin_acknowledges_and_resolves_an_alert_of_their_institution(
    client, session, clock
):
    world = await make_world(session, clock)
    alert = await open_alert(session, clock, world)
    headers = await bearer(session, clock=clock, account=world.admin)

    listed = await client.get("/api/supervision/alerts", headers=headers)
    assert [item["id"] for item in listed.json()] == [alert.id]
    read = await client.get(f"/api/supervision/alerts/{alert.id}", headers=headers)
    assert read.json()["details"] == {"waited_minutes": 90}
    acknowledged = await client.post(
        f"/api/supervision/alerts/{alert.id}/acknowledge", headers=headers
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert (acknowledged.json()["status"], acknowledged.json()["acknowledged_by_account_id"]) == (
        "acknowledged",
        world.admin.id,
    )
    resolved = await client.post(
        f"/api/supervision/alerts/{alert.id}/resolve",
        json={"note": "已联系医生，流程已整改"},
        headers=headers,
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["resolved_by_account_id"], body["resolution_note"]) == (
        "resolved",
        world.admin.id,
        "已联系医生，流程已整改",
    )
    assert body["resolved_at"] is not None
    [read_entry] = await audit_of(session, "supervision.alert_read")
    assert read_entry.patient_id == world.patient.id
    for action in ("alerts_listed", "alert_acknowledged", "alert_resolved"):
        assert len(await audit_of(session, f"supervision.{action}")) == 1


async def test_repeated_events_about_one_subject_give_one_alert(session, clock):
    world = await make_world(session, clock)
    first = await open_alert(session, clock, world)
    again = await open_alert(session, clock, world)
    assert again.id == first.id
    [alert] = await alerts_of(session, "R13.3")
    assert alert.occurrences == 2
    assert len(await audit_of(session, "supervision.alert_opened")) == 1


async def test_resolving_without_a_note_is_refused_and_changes_nothing(client, session, clock):
    world = await make_world(session, clock)
    alert = await open_alert(session, clock, world)
    headers = await bearer(session, clock=clock, account=world.admin)
    url = f"/api/supervision/alerts/{alert.id}/resolve"

    for body in ({}, {"note": "   "}):
        refused = await client.post(url, json=body, headers=headers)
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        assert (refused.json()["code"], refused.json()["field"]) == (
            "supervision.note_required",
            "note",
        )
        assert "备注" in refused.json()["detail"]
    english = await client.post(url, json={}, headers={**headers, **EN})
    assert "note" in english.json()["detail"]
    await session.refresh(alert)
    assert (alert.status, alert.resolved_at) == ("open", None)
    assert await audit_of(session, "supervision.alert_resolved") == []


async def test_a_resolved_alert_is_neither_acknowledged_nor_resolved_again(client, session, clock):
    world = await make_world(session, clock)
    alert = await open_alert(session, clock, world)
    headers = await bearer(session, clock=clock, account=world.admin)
    url = f"/api/supervision/alerts/{alert.id}"
    await client.post(f"{url}/resolve", json={"note": "done"}, headers=headers)

    again = await client.post(f"{url}/resolve", json={"note": "again"}, headers=headers)
    late = await client.post(f"{url}/acknowledge", headers=headers)
    assert (again.status_code, late.status_code) == (409, 409)
    assert again.json()["code"] == late.json()["code"] == "supervision.alert_wrong_status"
    await session.refresh(alert)
    assert alert.resolution_note == "done"


async def test_an_unknown_alert_is_not_found(client, session, clock):
    world = await make_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.admin)
    missing = await client.get("/api/supervision/alerts/999999", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "supervision.alert_not_found"


async def test_a_regulator_handles_the_alerts_of_their_region_only(client, session, clock):
    world = await make_world(session, clock)
    alert = await open_alert(session, clock, world)
    own = await bearer(session, clock=clock, account=world.regulator)
    other = await bearer(session, clock=clock, account=world.other_regulator)
    url = f"/api/supervision/alerts/{alert.id}"

    assert [a["id"] for a in (await client.get("/api/supervision/alerts", headers=own)).json()]
    assert (await client.get("/api/supervision/alerts", headers=other)).json() == []
    for response in (
        await client.get(url, headers=other),
        await client.post(f"{url}/acknowledge", headers=other),
        await client.post(f"{url}/resolve", json={"note": "x"}, headers=other),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "supervision.alert_not_found"
    await session.refresh(alert)
    assert alert.status == "open"
    acknowledged = await client.post(f"{url}/acknowledge", headers=own)
    assert acknowledged.json()["acknowledged_by_account_id"] == world.regulator.id


async def test_an_admin_of_another_institution_does_not_see_the_alert(client, session, clock):
    world = await make_world(session, clock)
    alert = await open_alert(session, clock, world)
    elsewhere = await make_institution(session, clock=clock)
    world.admin.institution_id = elsewhere.id
    await session.flush()
    headers = await bearer(session, clock=clock, account=world.admin)
    assert (await client.get("/api/supervision/alerts", headers=headers)).json() == []
    read = await client.get(f"/api/supervision/alerts/{alert.id}", headers=headers)
    assert read.status_code == 404


async def test_an_admin_switches_off_an_optional_rule_but_not_a_mandatory_one(
    client, session, clock
):
    world = await make_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.admin)
    base = f"/api/institutions/{world.institution.id}/supervision/rules"

    switched = await client.put(f"{base}/R13.3", json={"enabled": False}, headers=headers)
    assert (switched.status_code, switched.json()["enabled"]) == (200, False)
    for rule_id in ("R13.5", "R10"):  # a mandatory alert rule, a blocking rule
        refused = await client.put(f"{base}/{rule_id}", json={"enabled": False}, headers=headers)
        assert refused.status_code == 409
        assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        assert refused.json()["code"] == "supervision.rule_mandatory"
        assert rule_id in refused.json()["detail"]
    unknown = await client.put(f"{base}/R99", json={"enabled": False}, headers=headers)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "supervision.rule_unknown")

    listed = {rule["id"]: rule for rule in (await client.get(base, headers=headers)).json()}
    assert (listed["R13.3"]["enabled"], listed["R13.5"]["enabled"]) == (False, True)
    assert listed["R13.5"]["mandatory"] and not listed["R13.5"]["switchable"]
    switches = (await session.scalars(select(RuleSwitch))).all()
    assert [(s.rule_id, s.enabled) for s in switches] == [("R13.3", False)]
    assert len(await audit_of(session, "supervision.rule_switched")) == 1


async def test_an_admin_sees_the_catalogue_in_english_too(client, session, clock):
    world = await make_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.admin)
    url = f"/api/institutions/{world.institution.id}/supervision/rules"
    chinese = {r["id"]: r for r in (await client.get(url, headers=headers)).json()}
    english = {r["id"]: r for r in (await client.get(url, headers={**headers, **EN})).json()}
    assert chinese["R10"]["description"].startswith("不得在线开具")
    assert english["R10"]["description"].startswith("No narcotic")


async def test_a_regulator_tunes_thresholds_for_their_region(client, session, clock):
    world = await make_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.regulator)
    url = "/api/supervision/rules/R13.3/thresholds"

    tuned = await client.put(url, json={"values": {"max_wait_minutes": 120}}, headers=headers)
    assert tuned.status_code == 200, tuned.text
    assert tuned.json()["parameters"][0]["value"] == 120
    rules = {
        r["id"]: r for r in (await client.get("/api/supervision/rules", headers=headers)).json()
    }
    assert rules["R13.3"]["parameters"][0] == {
        "name": "max_wait_minutes",
        "value": 120,
        "default": 60,
        "minimum": 5,
        "maximum": 1440,
    }
    admin = await bearer(session, clock=clock, account=world.admin)
    institution = (
        await client.get(
            f"/api/institutions/{world.institution.id}/supervision/rules", headers=admin
        )
    ).json()
    [accepted_late] = [r for r in institution if r["id"] == "R13.3"]
    assert accepted_late["parameters"][0]["value"] == 120  # 北京 covers 朝阳区
    [entry] = await audit_of(session, "supervision.thresholds_set")
    assert entry.subject_id == "R13.3"


async def test_bad_thresholds_are_refused_and_change_nothing(client, session, clock):
    world = await make_world(session, clock)
    headers = await bearer(session, clock=clock, account=world.regulator)
    cases = [
        ("R13.3", {"max_wait_minutes": 120, "minutes": 3}, 422, "supervision.parameter_unknown"),
        ("R13.3", {"max_wait_minutes": 2}, 422, "supervision.parameter_out_of_range"),
        ("R10", {"days": 3}, 422, "supervision.parameter_unknown"),
        ("R77", {"days": 3}, 404, "supervision.rule_unknown"),
    ]
    for rule_id, values, status, code in cases:
        refused = await client.put(
            f"/api/supervision/rules/{rule_id}/thresholds",
            json={"values": values},
            headers={**headers, **EN},
        )
        assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    out_of_range = await client.put(
        "/api/supervision/rules/R13.3/thresholds",
        json={"values": {"max_wait_minutes": 2}},
        headers=headers,
    )
    assert "5" in out_of_range.json()["detail"] and "1440" in out_of_range.json()["detail"]
    assert (await session.scalars(select(RuleThreshold))).all() == []


async def test_a_regulator_without_a_region_is_told_so(client, session, clock):
    world = await make_world(session, clock)
    world.regulator.region_code = None
    await session.flush()
    headers = await bearer(session, clock=clock, account=world.regulator)
    refused = await client.get("/api/supervision/rules", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "supervision.no_region")
