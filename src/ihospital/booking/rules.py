"""Booking rules of an institution (放号 and the per-就诊人 limits) and the moments they imply.

An institution without stored rules has :data:`DEFAULTS`. All times of day are Asia/Shanghai:
slots of day D open at ``release_time`` on D − ``release_days_ahead``; a patient may cancel until
``cancel_cutoff_time`` on D − 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.models import BookingRules
from ihospital.core.clock import SHANGHAI
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution


@dataclass(frozen=True)
class Rules:
    release_days_ahead: int = 7
    release_time: time = time(8, 0)
    cancel_cutoff_time: time = time(18, 0)
    max_per_doctor_per_day: int = 1
    max_active_per_institution: int = 3
    child_age_limit: int = 14
    check_in_opens_minutes: int = 60
    check_in_closes_minutes: int = 15
    doctors_may_schedule: bool = False


DEFAULTS = Rules()
FIELDS = tuple(Rules.__dataclass_fields__)


def local_moment(day: date, at: time) -> datetime:
    """``at`` o'clock on ``day`` in Asia/Shanghai, as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=SHANGHAI).astimezone(UTC)


def release_moment(rules: Rules, day: date) -> datetime:
    """When the slots of ``day`` open for booking (放号)."""
    return local_moment(day - timedelta(days=rules.release_days_ahead), rules.release_time)


def cancel_deadline(rules: Rules, day: date) -> datetime:
    """Until when an appointment on ``day`` may be cancelled by the patient."""
    return local_moment(day - timedelta(days=1), rules.cancel_cutoff_time)


def stored_rules(row: BookingRules | None) -> Rules:
    """The rules a stored row holds (the defaults where there is none)."""
    if row is None:
        return DEFAULTS
    return Rules(**{name: getattr(row, name) for name in FIELDS})


async def rules_of(session: AsyncSession, institution_id: int) -> Rules:
    """The institution's rules (the defaults where none are stored)."""
    return stored_rules(
        await session.scalar(
            select(BookingRules).where(BookingRules.institution_id == institution_id)
        )
    )


async def get_rules(session: AsyncSession, actor: Actor, *, institution_id: int) -> Rules:
    """The booking rules of an institution the actor manages."""
    await managed_institution(session, actor, institution_id)
    return await rules_of(session, institution_id)


async def set_rules(
    session: AsyncSession, actor: Actor, *, institution_id: int, rules: Rules
) -> Rules:
    """Store an institution's booking rules (audited); they apply to bookings made from now on."""
    await managed_institution(session, actor, institution_id)
    row = await session.scalar(
        select(BookingRules).where(BookingRules.institution_id == institution_id)
    )
    if row is None:
        row = BookingRules(institution_id=institution_id)
        session.add(row)
    for name in FIELDS:
        setattr(row, name, getattr(rules, name))
    row.updated_at = actor.clock.now()
    await session.flush()
    await record(
        session,
        actor,
        action="booking.rules.set",
        subject_type="institution",
        subject_id=institution_id,
        details={name: str(getattr(rules, name)) for name in FIELDS},
    )
    return rules
