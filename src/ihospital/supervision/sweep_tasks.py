"""The supervision sweep: the alert rules checked on a schedule rather than on one event. It
runs every :data:`SWEEP_MINUTES` as a durable timer on a fixed grid, so several workers set it
once, and checks:

R14: an internet hospital's licence (互联网医院执业许可) expires within the region's
``days_before`` (or has expired): one alert per institution and expiry date, at the institution
(:func:`ihospital.directory.institutions.licence_expiring`). A renewed licence has a new date.

R09: no prescribing statistics for commercial use (统方). The platform offers no per-doctor
drug statistics or exports; what a person gathering them can do is open many doctors' decided
prescriptions one by one. The audit log shows it (:mod:`ihospital.prescribing.reads`): a staff
account that, within the region's ``minutes``, read at least ``min_prescriptions`` decided
prescriptions of at least ``min_doctors`` other doctors of an institution opens an alert there
(one per account, institution and day).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.directory.institutions import licence_expiring
from ihospital.outbox.service import handles
from ihospital.prescribing.reads import DecidedRead, decided_reads
from ihospital.prescribing.review_statistics import schedule_on_grid
from ihospital.supervision.catalogue import rules_by_id
from ihospital.supervision.tasks import alert_event, thresholds_of

SWEEP = "supervision.sweep"
SWEEP_MINUTES = 15


async def schedule_supervision_sweep(session: AsyncSession, actor: Actor) -> None:
    """Set the next sweep on the grid (once per grid moment, whoever sets it)."""
    await schedule_on_grid(session, actor, topic=SWEEP, every_minutes=SWEEP_MINUTES)


async def start_supervision_sweep(factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
    """Set the next sweep if it is not set yet (workers call this as they start)."""
    async with factory() as session:
        await schedule_supervision_sweep(session, Actor.system(clock))
        await session.commit()


def _widest(rule_id: str, name: str) -> int:
    """The largest value a region may give the parameter: what one query must cover."""
    return max(p.maximum for p in rules_by_id()[rule_id].parameters if p.name == name)


async def check_licences(session: AsyncSession, actor: Actor) -> int:
    """Open the R14 alerts of licences expiring within their region's days; how many."""
    alerted = 0
    for licence in await licence_expiring(
        session, actor, within_days=_widest("R14", "days_before")
    ):
        payload = {"institution_id": licence.institution_id}
        days_before = (await thresholds_of(session, "R14", payload))["days_before"]
        if licence.days_left > days_before:
            continue
        await alert_event(
            session,
            actor,
            payload,
            rule_id="R14",
            subject=f"institution:{licence.institution_id}:licence:{licence.expires_on}",
            about_patient=False,
            licence_number=licence.licence_number,
            expires_on=licence.expires_on,
            days_left=licence.days_left,
        )
        alerted += 1
    return alerted


async def check_bulk_reads(session: AsyncSession, actor: Actor) -> int:
    """Open the R09 alerts of the reads up to now; the number of accounts alerted."""
    now = actor.clock.now()
    widest = rules_by_id()["R09"].parameter("minutes")
    assert widest is not None
    reads = await decided_reads(session, since=now - timedelta(minutes=widest.maximum), until=now)
    by_reader: dict[tuple[int, int], list[DecidedRead]] = defaultdict(list)
    for read in reads:
        by_reader[(read.account_id, read.institution_id)].append(read)
    alerted = 0
    for (account_id, institution_id), found in sorted(by_reader.items()):
        payload = {"institution_id": institution_id}
        limits = await thresholds_of(session, "R09", payload)
        since = now - timedelta(minutes=limits["minutes"])
        recent = [read for read in found if read.occurred_at >= since]
        doctors = {read.prescriber_id for read in recent}
        prescriptions = {read.prescription_id for read in recent}
        if len(doctors) < limits["min_doctors"] or len(prescriptions) < limits["min_prescriptions"]:
            continue
        await alert_event(
            session,
            actor,
            payload,
            rule_id="R09",
            subject=f"account:{account_id}:{actor.clock.today_local().isoformat()}",
            about_patient=False,
            account_id=account_id,
            role=found[0].role,
            doctors=len(doctors),
            prescriptions=len(prescriptions),
            minutes=limits["minutes"],
        )
        alerted += 1
    return alerted


@handles(SWEEP)
async def sweep(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """R14 and R09, then set the next sweep."""
    await check_licences(session, actor)
    await check_bulk_reads(session, actor)
    await schedule_supervision_sweep(session, actor)
