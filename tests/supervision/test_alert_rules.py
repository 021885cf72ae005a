"""Each alert rule fires on its event and stays silent when the event is within the thresholds
in force (the region's, else the catalogue's defaults) or the institution switched it off."""

import json
from datetime import timedelta

from sqlalchemy import select

from ihospital.booking.fairness.flags import FLAG_RAISED
from ihospital.booking.fairness.flags import PUBLICATIONS as BOOKING_FAIRNESS
from ihospital.consultation.events import ACCEPTED, CANCELLED, CLOSED, SUBSCRIBERS
from ihospital.core.context import Actor
from ihospital.notifications.service import INBOX_TOPIC
from ihospital.outbox.models import OutboxEvent
from ihospital.pharmacy.shipment_events import COLD_CHAIN_EXCURSION, SHIPMENT_STATUS_CHANGED
from ihospital.pharmacy.shipment_events import PUBLICATIONS as SHIPMENTS
from ihospital.prescribing.events import PUBLICATIONS as PRESCRIPTION_REVIEW
from ihospital.prescribing.review_statistics import OVERDUE
from ihospital.supervision import tasks
from ihospital.supervision.rule_settings import set_thresholds, switch_rule
from tests.prescribing.review_builders import run_worker
from tests.supervision.builders import alerts_of, make_world, payload


def test_the_rules_subscribe_to_the_domains_events():
    assert tasks.review_waited_too_long in PRESCRIPTION_REVIEW.subscribers[OVERDUE]
    assert tasks.cold_chain_excursion in SHIPMENTS.subscribers[COLD_CHAIN_EXCURSION]
    assert tasks.accepted_late in SUBSCRIBERS[ACCEPTED]
    assert tasks.not_accepted in SUBSCRIBERS[CANCELLED]
    assert tasks.arm_record_check in SUBSCRIBERS[CLOSED]
    assert tasks.scalper_flag in BOOKING_FAIRNESS.subscribers[FLAG_RAISED]


def _overdue(world, waited: int) -> dict:
    return payload(world, prescription_id=7, number="RX7", waited_minutes=waited)


async def test_a_prescription_waiting_past_the_limit_opens_an_alert_and_tells_the_admin(
    session, clock
):
    world = await make_world(session, clock)
    await tasks.review_waited_too_long(session, Actor.system(clock), 1, _overdue(world, 45))
    [alert] = await alerts_of(session, "R13.1")
    assert (alert.subject, alert.status, alert.patient_id) == (
        "prescription:7",
        "open",
        world.patient.id,
    )
    assert json.loads(alert.details)["max_wait_minutes"] == 30
    inbox = await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == INBOX_TOPIC))
    told = [json.loads(event.payload) for event in inbox]
    assert [(m["account_id"], m["link"]) for m in told if m["kind"] == "supervision"] == [
        (world.admin.id, f"/supervision/alerts/{alert.id}")
    ]


async def test_a_wait_within_the_regions_limit_is_silent(session, clock):
    world = await make_world(session, clock)
    await set_thresholds(
        session, world.regulator_actor(clock), rule_id="R13.1", values={"max_wait_minutes": 60}
    )
    await tasks.review_waited_too_long(session, Actor.system(clock), 1, _overdue(world, 45))
    assert await alerts_of(session, "R13.1") == []


def _shipment(world) -> dict:
    return payload(
        world,
        shipment_id=3,
        order_reference="PO3",
        celsius="9.5",
        measured_at="2026-11-23T02:00:00+00:00",
        status="temperature_excursion",
    )


async def test_a_cold_chain_excursion_opens_one_alert_per_shipment(session, clock):
    world = await make_world(session, clock)
    for event_id in (1, 2):  # a second reading out of range on the same shipment
        await SHIPMENTS.notify(
            session, Actor.system(clock), event_id, COLD_CHAIN_EXCURSION, _shipment(world)
        )
    [alert] = await alerts_of(session, "R13.2")
    assert (alert.subject, alert.occurrences, alert.severity) == ("shipment:3", 2, "high")


async def test_a_shipment_moving_in_range_is_silent(session, clock):
    world = await make_world(session, clock)
    await SHIPMENTS.notify(
        session, Actor.system(clock), 1, SHIPMENT_STATUS_CHANGED, _shipment(world)
    )
    assert await alerts_of(session, "R13.2") == []


def _accepted(world, clock, *, waited: int, scheduled_in: int | None = None) -> dict:
    now = clock.now()
    return payload(
        world,
        consultation_id=11,
        practitioner_id=5,
        at=now.isoformat(),
        waiting_since=str(now - timedelta(minutes=waited)),
        scheduled_at=(
            None
            if scheduled_in is None
            else str(now - timedelta(minutes=waited) + timedelta(minutes=scheduled_in))
        ),
    )


async def test_a_consultation_accepted_late_opens_an_alert(session, clock):
    world = await make_world(session, clock)
    await tasks.accepted_late(session, Actor.system(clock), 1, _accepted(world, clock, waited=90))
    [alert] = await alerts_of(session, "R13.3")
    assert json.loads(alert.details) == {
        "practitioner_id": 5,
        "waited_minutes": 90,
        "max_wait_minutes": 60,
    }


async def test_a_consultation_accepted_in_time_or_at_its_booked_time_is_silent(session, clock):
    world = await make_world(session, clock)
    actor = Actor.system(clock)
    await tasks.accepted_late(session, actor, 1, _accepted(world, clock, waited=30))
    # a video consultation booked for 2 hours after it began waiting, accepted 10 minutes late
    await tasks.accepted_late(
        session, actor, 2, _accepted(world, clock, waited=130, scheduled_in=120)
    )
    assert await alerts_of(session, "R13.3") == []


async def test_a_rule_the_institution_switched_off_is_silent(session, clock):
    world = await make_world(session, clock)
    await switch_rule(
        session,
        world.admin_actor(clock),
        institution_id=world.institution.id,
        rule_id="R13.3",
        enabled=False,
    )
    await tasks.accepted_late(session, Actor.system(clock), 1, _accepted(world, clock, waited=90))
    assert await alerts_of(session, "R13.3") == []


def _cancelled(world, clock, reason: str) -> dict:
    return payload(
        world, consultation_id=12, practitioner_id=5, at=clock.now().isoformat(), reason=reason
    )


async def test_a_consultation_nobody_accepted_opens_an_alert(session, clock):
    world = await make_world(session, clock)
    await tasks.not_accepted(
        session, Actor.system(clock), 1, _cancelled(world, clock, "not_accepted")
    )
    [alert] = await alerts_of(session, "R13.4")
    assert alert.subject == "consultation:12"


async def test_a_consultation_the_patient_cancelled_is_silent(session, clock):
    world = await make_world(session, clock)
    await tasks.not_accepted(session, Actor.system(clock), 1, _cancelled(world, clock, "patient"))
    assert await alerts_of(session, "R13.4") == []


def _closed(world, clock, *, diagnostic: bool) -> dict:
    return payload(
        world,
        consultation_id=2_000_001,  # no record was ever signed for it
        practitioner_id=5,
        at=clock.now().isoformat(),
        diagnostic=diagnostic,
    )


async def test_a_consultation_without_a_signed_record_a_day_after_closing_opens_an_alert(
    app, session, session_factory, clock
):
    world = await make_world(session, clock)
    await tasks.arm_record_check(
        session, Actor.system(clock), 1, _closed(world, clock, diagnostic=True)
    )
    await session.commit()
    clock.advance(timedelta(hours=23))
    await run_worker(app, session_factory, clock)
    assert await alerts_of(session, "R13.5") == []  # not yet due

    clock.advance(timedelta(hours=1))
    await run_worker(app, session_factory, clock)
    [alert] = await alerts_of(session, "R13.5")
    assert (alert.subject, json.loads(alert.details)["hours"]) == ("consultation:2000001", 24)


async def test_a_health_consultation_closing_sets_no_record_check(
    app, session, session_factory, clock
):
    world = await make_world(session, clock)
    await tasks.arm_record_check(
        session, Actor.system(clock), 1, _closed(world, clock, diagnostic=False)
    )
    await session.commit()
    clock.advance(timedelta(hours=25))
    await run_worker(app, session_factory, clock)
    assert await alerts_of(session, "R13.5") == []


def _flag(world, count: int) -> dict:
    return payload(
        world,
        flag_id=4,
        reason="many_patients_one_doctor",
        subject="account:1:doctor:2",
        count=count,
        day="2026-11-23",
    )


async def test_a_scalper_flag_opens_an_alert(session, clock):
    world = await make_world(session, clock)
    await BOOKING_FAIRNESS.notify(session, Actor.system(clock), 1, FLAG_RAISED, _flag(world, 3))
    [alert] = await alerts_of(session, "P01")
    assert (alert.subject, alert.patient_id) == ("booking_flag:4", None)


async def test_a_scalper_flag_below_the_regions_count_is_silent(session, clock):
    world = await make_world(session, clock)
    await set_thresholds(
        session, world.regulator_actor(clock), rule_id="P01", values={"min_count": 5}
    )
    await BOOKING_FAIRNESS.notify(session, Actor.system(clock), 1, FLAG_RAISED, _flag(world, 3))
    assert await alerts_of(session, "P01") == []
