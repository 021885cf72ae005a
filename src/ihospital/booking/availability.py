"""What the public sees: a doctor's (or a bookable resource's) released sessions with the free
places of each slot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.models import ScheduleSession, Slot
from ihospital.booking.rules import release_moment, rules_of
from ihospital.booking.schedules import SessionView, session_views
from ihospital.core.context import Actor
from ihospital.errors import NotFound

MAX_DAYS_AHEAD = 90


@dataclass(frozen=True)
class OpenSession:
    view: SessionView
    released_at: datetime
    now: datetime

    def free(self, slot_index: int) -> int:
        slot = self.view.slots[slot_index]
        return 0 if slot.starts_at <= self.now else slot.capacity - slot.booked

    @property
    def free_total(self) -> int:
        return sum(self.free(index) for index in range(len(self.view.slots)))


async def doctor_schedule(
    session: AsyncSession, actor: Actor, *, practitioner_id: int
) -> list[OpenSession]:
    """The doctor's open sessions from today whose slots are released (放号) — each institution
    releases by its own rules — by time, with free places (begun slots have none)."""
    return await released_sessions(
        session, actor, ScheduleSession.practitioner_id == practitioner_id
    )


async def free_places_of_doctors(
    session: AsyncSession, actor: Actor, *, practitioner_ids: Sequence[int]
) -> dict[int, int]:
    """Public: how many places each doctor has free in released sessions from today (those with
    none are left out), for pages that suggest doctors (smart triage)."""
    free: dict[int, int] = {}
    if not practitioner_ids:
        return free
    whose = ScheduleSession.practitioner_id.in_(practitioner_ids)
    for found in await released_sessions(session, actor, whose):
        if places := found.free_total:
            doctor = found.view.session.practitioner_id
            free[doctor] = free.get(doctor, 0) + places
    return free


async def released_sessions(
    session: AsyncSession, actor: Actor, whose: ColumnElement[bool]
) -> list[OpenSession]:
    """The open sessions matching ``whose`` from today whose slots are released, by time, with
    free places."""
    today = actor.clock.today_local()
    rows = (
        await session.scalars(
            select(ScheduleSession)
            .where(
                whose,
                ScheduleSession.status == "open",
                ScheduleSession.day >= today,
                ScheduleSession.day <= today + timedelta(days=MAX_DAYS_AHEAD),
            )
            .order_by(ScheduleSession.starts_at)
        )
    ).all()
    now = actor.clock.now()
    released = []
    rules_by_institution = {}
    for row in rows:
        if row.institution_id not in rules_by_institution:
            rules_by_institution[row.institution_id] = await rules_of(session, row.institution_id)
        released_at = release_moment(rules_by_institution[row.institution_id], row.day)
        if released_at <= now:
            released.append((row, released_at))
    views = await session_views(session, [row for row, _ in released])
    return [
        OpenSession(view, released_at, now)
        for view, (_, released_at) in zip(views, released, strict=True)
    ]


@dataclass(frozen=True)
class SlotOffer:
    """One slot as a patient about to book it sees it: its session, when it opens (放号) and
    how many places are free now (none once begun or stopped)."""

    slot: Slot
    schedule: ScheduleSession
    released_at: datetime
    free: int


async def slot_offer(session: AsyncSession, actor: Actor, *, slot_id: int) -> SlotOffer:
    """Public: a slot with its session and release moment, for the booking confirmation."""
    found = (
        await session.execute(
            select(Slot, ScheduleSession)
            .join(ScheduleSession, ScheduleSession.id == Slot.session_id)
            .where(Slot.id == slot_id)
        )
    ).first()
    if found is None:
        raise NotFound("booking.slot_not_found", "This slot does not exist.")
    slot, schedule = found
    rules = await rules_of(session, schedule.institution_id)
    begun = slot.starts_at <= actor.clock.now() or schedule.status != "open"
    free = 0 if begun else slot.capacity - slot.booked
    return SlotOffer(slot, schedule, release_moment(rules, schedule.day), free)


async def open_session(session: AsyncSession, actor: Actor, *, session_id: int) -> OpenSession:
    """Public: one open, released session from today with its free places (the waitlist's
    join page); any other session is not found."""
    row = await session.get(ScheduleSession, session_id)
    today = actor.clock.today_local()
    if row is not None and row.status == "open" and row.day >= today:
        released_at = release_moment(await rules_of(session, row.institution_id), row.day)
        if released_at <= actor.clock.now():
            [view] = await session_views(session, [row])
            return OpenSession(view, released_at, actor.clock.now())
    raise NotFound("booking.session_not_found", "This session does not exist.")
