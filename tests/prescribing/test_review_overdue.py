"""The overdue alert: the worker's review sweep raises ``prescribing.review_overdue`` once for a
prescription waiting longer than the limit (whatever the number of sweeps) and sets its next
run on the grid; a prescription decided in time raises nothing."""

import json
from datetime import UTC, datetime, timedelta

from ihospital.outbox.models import OutboxEvent
from ihospital.prescribing.review import decide_prescription
from ihospital.prescribing.review_statistics import (
    OVERDUE,
    SWEEP,
    start_review_sweep,
    sweep_slot,
)
from tests.prescribing.review_builders import count, events, make_pharmacy, prescribe, run_worker


def test_sweeps_fall_on_a_grid():
    assert sweep_slot(datetime(2026, 11, 23, 1, 2, 30, tzinfo=UTC), 5) == datetime(
        2026, 11, 23, 1, 5, tzinfo=UTC
    )
    assert sweep_slot(datetime(2026, 11, 23, 1, 5, tzinfo=UTC), 5) == datetime(
        2026, 11, 23, 1, 10, tzinfo=UTC
    )


async def test_a_prescription_waiting_too_long_raises_one_alert(
    app, session, session_factory, clock
):
    pharmacy = await make_pharmacy(session, clock)
    late = await prescribe(session, clock, pharmacy)
    in_time = await prescribe(session, clock, pharmacy)
    await start_review_sweep(session_factory, clock, every_minutes=5)
    await start_review_sweep(session_factory, clock, every_minutes=5)  # a second worker
    assert len(await events(session, SWEEP)) == 1
    clock.advance(timedelta(minutes=20))
    await decide_prescription(
        session,
        pharmacy.pharmacist_actor(clock),
        prescription_id=in_time.id,
        decision="approve",
    )
    await session.commit()

    for _ in range(4):  # sweeps every 5 minutes, from 20 to 40 minutes of waiting
        await run_worker(app, session_factory, clock)
        clock.advance(timedelta(minutes=5))
    await run_worker(app, session_factory, clock)

    [alert] = await events(session, OVERDUE)
    payload = json.loads(alert.payload)
    assert (payload["prescription_id"], payload["limit_minutes"]) == (late.id, 30)
    assert payload["waited_minutes"] >= 30
    assert alert.status == "done"
    pending_sweeps = await count(
        session, OutboxEvent, OutboxEvent.topic == SWEEP, OutboxEvent.status == "pending"
    )
    assert pending_sweeps == 1
