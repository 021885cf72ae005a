"""How long review takes, and the alert for a prescription waiting too long (R13).

The review time of a prescription is ``reviewed_at − issued_at``. An institution's figures over
the last days (Beijing time, today included) are the median and the 90th percentile (nearest
rank, as the doctors' response times) and the count of the prescriptions decided in them, with
how many wait now and how many of those waited past the limit.

A prescription waiting longer than the limit (setting ``prescription_review_limit_minutes``,
default 30) raises the alert ``prescribing.review_overdue`` for supervision, once: a sweep timer
the worker keeps running every ``prescription_review_sweep_minutes`` writes the alert of each
overdue prescription under a dedupe key of its id, so a later sweep, a second worker or a
retried sweep never writes it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.audit.service import record
from ihospital.consultation.statistics import percentile, period_start
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution
from ihospital.outbox.service import KeyedEvent, emit, emit_keyed
from ihospital.prescribing.models import Prescription
from ihospital.prescribing.review import PENDING

OVERDUE = "prescribing.review_overdue"
SWEEP = "prescribing.review_sweep"
PERIOD_DAYS = (1, 7, 30, 90)
OVERDUE_BATCH = 500


@dataclass(frozen=True)
class ReviewFigures:
    """Review times of the prescriptions an institution decided in the last ``days`` days,
    and its queue now."""

    institution_id: int
    days: int
    count: int
    approved: int
    rejected: int
    median: timedelta | None
    p90: timedelta | None
    waiting: int
    overdue: int
    limit_minutes: int


async def review_figures(
    session: AsyncSession, actor: Actor, *, institution_id: int, days: int, limit_minutes: int
) -> ReviewFigures:
    """The institution's review figures (the read is audited). Pharmacists read their own
    institution's; admins those of an institution they manage (403 otherwise)."""
    if actor.role != "pharmacist" or actor.institution_id != institution_id:
        await managed_institution(session, actor, institution_id)
    now = actor.clock.now()
    rows = (
        await session.execute(
            select(Prescription.status, Prescription.issued_at, Prescription.reviewed_at).where(
                Prescription.institution_id == institution_id,
                Prescription.reviewed_at >= period_start(now, days),
            )
        )
    ).all()
    times = [reviewed - issued for _, issued, reviewed in rows]
    rejected = sum(1 for status, _, _ in rows if status == "rejected")
    pending = (Prescription.institution_id == institution_id, Prescription.status == PENDING)
    waiting, overdue = (
        await session.execute(
            select(
                func.count(Prescription.id),
                func.count(Prescription.id).filter(
                    Prescription.issued_at <= now - timedelta(minutes=limit_minutes)
                ),
            ).where(*pending)
        )
    ).one()
    await record(
        session,
        actor,
        action="prescribing.review_figures_read",
        subject_type="institution",
        subject_id=institution_id,
        details={"days": days},
    )
    return ReviewFigures(
        institution_id=institution_id,
        days=days,
        count=len(times),
        approved=len(times) - rejected,
        rejected=rejected,
        median=percentile(times, 0.5),
        p90=percentile(times, 0.9),
        waiting=waiting,
        overdue=overdue,
        limit_minutes=limit_minutes,
    )


async def raise_overdue_alerts(session: AsyncSession, actor: Actor, *, limit_minutes: int) -> int:
    """Write the ``prescribing.review_overdue`` alert of every prescription waiting for review
    longer than ``limit_minutes`` (each once, whatever the number of sweeps); answers how many
    prescriptions are overdue."""
    now = actor.clock.now()
    overdue = (
        await session.scalars(
            select(Prescription)
            .where(
                Prescription.status == PENDING,
                Prescription.issued_at <= now - timedelta(minutes=limit_minutes),
            )
            .order_by(Prescription.issued_at, Prescription.id)
            .limit(OVERDUE_BATCH)
        )
    ).all()
    if overdue:
        await emit_keyed(
            session,
            actor,
            [
                KeyedEvent(
                    topic=OVERDUE,
                    payload={
                        "topic": OVERDUE,
                        "prescription_id": prescription.id,
                        "number": prescription.number,
                        "institution_id": prescription.institution_id,
                        "patient_id": prescription.patient_id,
                        "prescriber_id": prescription.prescriber_id,
                        "issued_at": prescription.issued_at.isoformat(),
                        "limit_minutes": limit_minutes,
                        "waited_minutes": int((now - prescription.issued_at).total_seconds() // 60),
                    },
                    available_at=now,
                    dedupe_key=f"{OVERDUE}:{prescription.id}",
                )
                for prescription in overdue
            ],
        )
    return len(overdue)


def sweep_slot(moment: datetime, every_minutes: int) -> datetime:
    """The first sweep moment after ``moment`` on the grid of ``every_minutes``."""
    step = timedelta(minutes=every_minutes)
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    return epoch + ((moment - epoch) // step + 1) * step


async def schedule_on_grid(
    session: AsyncSession, actor: Actor, *, topic: str, every_minutes: int
) -> None:
    """Set the next timer of ``topic`` on the grid (once per grid moment, whoever sets it)."""
    at = sweep_slot(actor.clock.now(), every_minutes)
    await emit(
        session,
        actor,
        topic=topic,
        payload={},
        available_at=at,
        dedupe_key=f"{topic}:{at.isoformat()}",
    )


async def schedule_sweep(session: AsyncSession, actor: Actor, *, every_minutes: int) -> None:
    """Set the next sweep timer on the grid (once per grid moment, whoever sets it)."""
    await schedule_on_grid(session, actor, topic=SWEEP, every_minutes=every_minutes)


async def start_review_sweep(
    factory: async_sessionmaker[AsyncSession], clock: Clock, *, every_minutes: int
) -> None:
    """Set the next sweep if it is not set yet (workers call this as they start)."""
    async with factory() as session:
        await schedule_sweep(session, Actor.system(clock), every_minutes=every_minutes)
        await session.commit()
