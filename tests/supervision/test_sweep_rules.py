"""R09 (统方): an account reading many decided prescriptions of many doctors in a short time
opens an alert; reads below the region's thresholds, of pending prescriptions (the review's
work) or outside the window are silent. The sweep keeps itself running."""

import json
from datetime import timedelta

from sqlalchemy import func, select

from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.outbox.models import OutboxEvent
from ihospital.prescribing.review import open_for_review
from ihospital.supervision import sweep_tasks
from ihospital.supervision.rule_settings import set_thresholds
from tests.directory.builders import make_institution
from tests.pharmacy.order_builders import approved_prescription, make_shop
from tests.prescribing.builders import Line, make_prescription
from tests.prescribing.review_builders import run_worker
from tests.supervision.builders import BEIJING, alerts_of
from tests.supervision.test_volume_rules import _regulator


async def _prescriptions(session, clock, *, decided: bool):
    """5 prescriptions of the shop's institution, 3 of its doctor and 2 of the colleague,
    decided by the pharmacist a minute ago (or waiting for review)."""
    shop = await make_shop(session, clock=clock)
    written = [shop.prescription]
    for _ in range(2):
        written.append(
            await approved_prescription(
                session, clock=clock, practice=shop.practice, drug=shop.drug
            )
        )
    consultation = await session.get(Consultation, shop.prescription.consultation_id)
    for _ in range(2):
        written.append(
            await make_prescription(
                session,
                clock=clock,
                doctor=shop.practice.colleague,
                consultation=consultation,
                lines=[Line(shop.drug)],
                status="approved" if decided else "pending_review",
            )
        )
    for prescription in written:
        prescription.reviewed_at = clock.now() - timedelta(minutes=1) if decided else None
        prescription.status = "approved" if decided else "pending_review"
    await session.flush()
    regulator = await _regulator(session, clock)
    assert regulator.region_code == BEIJING
    await set_thresholds(
        session, regulator, rule_id="R09", values={"min_doctors": 2, "min_prescriptions": 5}
    )
    return shop, written


async def _read_all(session, clock, shop, written) -> None:
    for prescription in written:
        await open_for_review(session, shop.dispenser(clock), prescription_id=prescription.id)


async def test_reading_many_doctors_decided_prescriptions_opens_an_alert(session, clock):
    shop, written = await _prescriptions(session, clock, decided=True)
    await _read_all(session, clock, shop, written)
    clock.advance(timedelta(minutes=5))
    assert await sweep_tasks.check_bulk_reads(session, Actor.system(clock)) == 1
    [alert] = await alerts_of(session, "R09")
    assert alert.subject.startswith(f"account:{shop.pharmacist.id}:")
    assert json.loads(alert.details) | {"minutes": 60} == {
        "account_id": shop.pharmacist.id,
        "role": "pharmacist",
        "doctors": 2,
        "prescriptions": 5,
        "minutes": 60,
    }


async def test_reviewing_pending_prescriptions_fewer_reads_or_old_reads_are_silent(session, clock):
    shop, pending = await _prescriptions(session, clock, decided=False)
    await _read_all(session, clock, shop, pending)  # the review's own work
    few, decided = await _prescriptions(session, clock, decided=True)
    await _read_all(session, clock, few, decided[:4])  # only 4
    clock.advance(timedelta(minutes=5))
    assert await sweep_tasks.check_bulk_reads(session, Actor.system(clock)) == 0
    shop, decided = await _prescriptions(session, clock, decided=True)
    await _read_all(session, clock, shop, decided)
    clock.advance(timedelta(minutes=61))  # out of the hour's window
    assert await sweep_tasks.check_bulk_reads(session, Actor.system(clock)) == 0
    assert await alerts_of(session, "R09") == []


async def test_the_sweep_runs_and_sets_the_next_one(app, session, session_factory, clock):
    await sweep_tasks.start_supervision_sweep(session_factory, clock)
    await sweep_tasks.start_supervision_sweep(session_factory, clock)  # a second worker: still one
    timers = select(func.count()).where(OutboxEvent.topic == sweep_tasks.SWEEP)
    assert await session.scalar(timers) == 1
    clock.advance(timedelta(minutes=sweep_tasks.SWEEP_MINUTES))
    await run_worker(app, session_factory, clock)
    assert await session.scalar(timers) == 2


async def test_a_licence_expiring_within_the_regions_days_opens_an_alert(session, clock):
    today = clock.today_local()
    soon = await make_institution(
        session, clock=clock, licence_expires_on=today + timedelta(days=30)
    )
    expired = await make_institution(
        session, clock=clock, licence_expires_on=today - timedelta(days=1)
    )
    assert await sweep_tasks.check_licences(session, Actor.system(clock)) == 2
    alerts = {alert.institution_id: alert for alert in await alerts_of(session, "R14")}
    assert set(alerts) == {soon.id, expired.id}
    assert json.loads(alerts[soon.id].details)["days_left"] == 30
    assert alerts[expired.id].subject == (
        f"institution:{expired.id}:licence:{today - timedelta(days=1)}"
    )
    await sweep_tasks.check_licences(session, Actor.system(clock))  # the next sweep
    assert [a.occurrences for a in await alerts_of(session, "R14")] == [2, 2]


async def test_a_licence_further_off_than_the_regions_days_is_silent(session, clock):
    today = clock.today_local()
    await make_institution(session, clock=clock, licence_expires_on=today + timedelta(days=90))
    await make_institution(session, clock=clock, licence_expires_on=today + timedelta(days=30))
    await set_thresholds(
        session, await _regulator(session, clock), rule_id="R14", values={"days_before": 20}
    )
    assert await sweep_tasks.check_licences(session, Actor.system(clock)) == 0
    assert await alerts_of(session, "R14") == []
