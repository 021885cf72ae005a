"""Supervision alerts in the reporting feed: raised, acknowledged and resolved, each the next
version of the alert's standardised record with its own idempotency key, pushed once to the
provincial platform even when a push is retried; a repeated occurrence adds no version."""

from __future__ import annotations

import json

from ihospital.supervision.alerts import acknowledge_alert, resolve_alert
from ihospital.supervision.reporting.documents import KINDS
from ihospital.supervision.reporting.platform import make_provincial
from tests.supervision.builders import make_world, open_alert
from tests.supervision.reporting.builders import LostAnswers, feed, received_keys, run_worker


async def _alert_records(session) -> list:
    return [r for r in await feed(session) if r.kind == "alert"]


async def test_an_alerts_lifecycle_reaches_the_platform_as_versions_of_its_record(
    session, session_factory, clock, settings
):
    provincial = make_provincial(settings, clock)
    world = await make_world(session, clock)
    alert = await open_alert(session, clock, world)
    await open_alert(session, clock, world)  # another occurrence: no new version
    await session.commit()
    await run_worker(session_factory, clock, settings, provincial.platform)  # the record
    await run_worker(session_factory, clock, settings, provincial.platform)  # its push
    [raised] = await _alert_records(session)
    assert (raised.subject_id, raised.version, raised.idempotency_key, raised.status) == (
        alert.id,
        1,
        f"alert:{alert.id}:v1",
        "delivered",
    )

    regulator = world.regulator_actor(clock)
    await acknowledge_alert(session, regulator, alert_id=alert.id)
    await resolve_alert(session, regulator, alert_id=alert.id, note="已约谈医生并整改")
    await session.commit()
    await run_worker(session_factory, clock, settings, provincial.platform)  # the records
    await run_worker(session_factory, clock, settings, provincial.platform)  # their push

    records = await _alert_records(session)
    assert [(r.version, r.event) for r in records] == [
        (1, "supervision.alert_raised"),
        (2, "supervision.alert_acknowledged"),
        (3, "supervision.alert_resolved"),
    ]
    documents = [json.loads(r.document)["data"] for r in records]
    assert [d["status"] for d in documents] == ["open", "acknowledged", "resolved"]
    resolved = documents[-1]
    assert all(resolved[name] is not None for name in KINDS["alert"])
    assert (resolved["rule_id"], resolved["rule"]["source"], resolved["occurrences"]) == (
        "R13.3",
        "细则",
        2,
    )
    assert resolved["resolution_note"] == "已约谈医生并整改"
    assert resolved["patient"] == {"id_number_masked": world.patient.id_number_masked}
    assert world.patient.name not in records[-1].document
    assert await received_keys(provincial) == [f"alert:{alert.id}:v{n}" for n in (1, 2, 3)]


async def test_an_alert_record_pushed_again_after_a_lost_answer_arrives_once(
    session, session_factory, clock, settings
):
    provincial = make_provincial(settings, clock)
    world = await make_world(session, clock)
    alert = await open_alert(session, clock, world, subject="consultation:2")
    await session.commit()
    await run_worker(session_factory, clock, settings, LostAnswers(provincial.platform))
    [record] = await _alert_records(session)
    assert record.status == "pending"  # the answer was lost: it goes again
    for _ in range(3):
        await run_worker(session_factory, clock, settings, provincial.platform)
    assert (await _alert_records(session))[0].status == "delivered"
    assert await received_keys(provincial) == [f"alert:{alert.id}:v1"]
