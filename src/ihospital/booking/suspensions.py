"""The no-show rule (爽约): 3 no-shows within 90 days suspend online booking for that 就诊人 for
90 days.

The thresholds are platform constants (the institution's booking rules do not hold them). No-shows
and suspensions count per institution: the no-shows recorded at one institution suspend booking
there. A no-show counts from when it was recorded; no-shows already counted towards one
suspension never count towards another, and none is started while one is running. An
institution admin may lift a running suspension early, giving the reason (audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.dayof_models import BookingSuspension, Visit
from ihospital.booking.models import Appointment
from ihospital.core.clock import to_local
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution
from ihospital.errors import Conflict, NotFound
from ihospital.identity.patient_cards import PatientCard, patient_cards

NO_SHOW_LIMIT = 3
NO_SHOW_WINDOW = timedelta(days=90)
SUSPENSION_LENGTH = timedelta(days=90)


async def _latest_suspension(
    session: AsyncSession, *, patient_id: int, institution_id: int
) -> BookingSuspension | None:
    return await session.scalar(
        select(BookingSuspension)
        .where(
            BookingSuspension.patient_id == patient_id,
            BookingSuspension.institution_id == institution_id,
        )
        .order_by(BookingSuspension.ends_at.desc())
        .limit(1)
    )


def running_suspension(*, patient_id: int, institution_id: int, now: datetime) -> ScalarSelect[int]:
    """The id of the 就诊人's suspension at the institution running at ``now`` (begun, not
    ended, not lifted; :meth:`BookingSuspension.running`), as a scalar subquery for the
    booking rules' one read."""
    return (
        select(BookingSuspension.id)
        .where(
            BookingSuspension.patient_id == patient_id,
            BookingSuspension.institution_id == institution_id,
            BookingSuspension.starts_at <= now,
            BookingSuspension.ends_at > now,
            BookingSuspension.lifted_at.is_(None),
        )
        .limit(1)
        .scalar_subquery()
    )


async def refuse_suspended(session: AsyncSession, suspension_id: int) -> NoReturn:
    """Refuse (409) a booking for a 就诊人 whose online booking is suspended (the running
    suspension ``suspension_id``), naming the local day the suspension ends."""
    suspension = await session.get_one(BookingSuspension, suspension_id)
    raise Conflict(
        "booking.suspended",
        "Online booking for this patient is suspended until {until} after {count} missed "
        "appointments.",
        until=to_local(suspension.ends_at).date().isoformat(),
        count=suspension.no_show_count,
        suspended_until=suspension.ends_at.isoformat(),
    )


async def apply_no_show_rule(
    session: AsyncSession, actor: Actor, *, appointment: Appointment
) -> BookingSuspension | None:
    """After ``appointment`` was recorded as a no-show: suspend online booking of its 就诊人 at
    its institution when that makes :data:`NO_SHOW_LIMIT` within :data:`NO_SHOW_WINDOW` (audited).
    """
    now = actor.clock.now()
    latest = await _latest_suspension(
        session, patient_id=appointment.patient_id, institution_id=appointment.institution_id
    )
    if latest is not None and latest.running(now):
        return None
    since = now - NO_SHOW_WINDOW
    if latest is not None:
        since = max(since, latest.starts_at)
    no_shows = (
        await session.scalar(
            select(func.count(Visit.id))
            .join(Appointment, Appointment.id == Visit.appointment_id)
            .where(
                Appointment.patient_id == appointment.patient_id,
                Appointment.institution_id == appointment.institution_id,
                Visit.outcome == "no_show",
                Visit.outcome_at > since,
            )
        )
        or 0
    )
    if no_shows < NO_SHOW_LIMIT:
        return None
    suspension = BookingSuspension(
        patient_id=appointment.patient_id,
        institution_id=appointment.institution_id,
        appointment_id=appointment.id,
        no_show_count=no_shows,
        starts_at=now,
        ends_at=now + SUSPENSION_LENGTH,
    )
    session.add(suspension)
    await session.flush()
    await record(
        session,
        actor,
        action="booking.patient.suspend",
        subject_type="booking_suspension",
        subject_id=suspension.id,
        patient_id=appointment.patient_id,
        details={
            "institution_id": appointment.institution_id,
            "no_shows": no_shows,
            "ends_at": suspension.ends_at.isoformat(),
        },
    )
    return suspension


@dataclass(frozen=True)
class NoShowRow:
    """One 就诊人 of the institution's no-show list (the name masked): no-shows in the last 90
    days, the last one, and the suspension running now (if any)."""

    patient_id: int
    patient: PatientCard | None
    no_shows: int
    last_no_show_at: datetime
    suspension: BookingSuspension | None


async def no_show_list(
    session: AsyncSession, actor: Actor, *, institution_id: int
) -> list[NoShowRow]:
    """The 就诊人 with no-shows at a managed institution within :data:`NO_SHOW_WINDOW`, or with
    a running suspension there; most no-shows first. The admin does not treat them, so names
    are masked (the read is audited)."""
    await managed_institution(session, actor, institution_id)
    now = actor.clock.now()
    counts = (
        await session.execute(
            select(Appointment.patient_id, func.count(Visit.id), func.max(Visit.outcome_at))
            .join(Appointment, Appointment.id == Visit.appointment_id)
            .where(
                Appointment.institution_id == institution_id,
                Visit.outcome == "no_show",
                Visit.outcome_at > now - NO_SHOW_WINDOW,
            )
            .group_by(Appointment.patient_id)
        )
    ).all()
    running = {
        suspension.patient_id: suspension
        for suspension in await session.scalars(
            select(BookingSuspension).where(
                BookingSuspension.institution_id == institution_id,
                BookingSuspension.starts_at <= now,
                BookingSuspension.ends_at > now,
                BookingSuspension.lifted_at.is_(None),
            )
        )
    }
    found = {patient_id: (count, last) for patient_id, count, last in counts}
    for patient_id, suspension in running.items():
        found.setdefault(patient_id, (0, suspension.starts_at))
    ordered = sorted(found, key=lambda key: (-found[key][0], -found[key][1].timestamp(), key))
    cards = await patient_cards(
        session, actor, patient_ids=ordered, purpose="booking.no_shows", masked=True
    )
    listing = [NoShowRow(key, cards.get(key), *found[key], running.get(key)) for key in ordered]
    await record(
        session,
        actor,
        action="booking.no_shows.list",
        subject_type="institution",
        subject_id=institution_id,
        details={"patient_ids": [row.patient_id for row in listing]},
    )
    return listing


async def lift_suspension(
    session: AsyncSession, actor: Actor, *, institution_id: int, suspension_id: int, reason: str
) -> BookingSuspension:
    """An institution admin ends a running suspension of their institution early, with the
    reason (audited); the 就诊人 may book online again at once. A suspension already ended or
    lifted is refused (409)."""
    await managed_institution(session, actor, institution_id)
    suspension = await session.scalar(
        select(BookingSuspension)
        .where(
            BookingSuspension.id == suspension_id,
            BookingSuspension.institution_id == institution_id,
        )
        .with_for_update()
    )
    if suspension is None:
        raise NotFound("booking.suspension_not_found", "This suspension does not exist.")
    now = actor.clock.now()
    if not suspension.running(now):
        raise Conflict("booking.suspension_not_running", "This suspension is no longer running.")
    suspension.lifted_at = now
    suspension.lifted_by_account_id = actor.account_id
    suspension.lift_reason = reason
    await session.flush()
    await record(
        session,
        actor,
        action="booking.patient.suspension_lift",
        subject_type="booking_suspension",
        subject_id=suspension.id,
        patient_id=suspension.patient_id,
        details={"institution_id": institution_id, "reason": reason},
    )
    return suspension
