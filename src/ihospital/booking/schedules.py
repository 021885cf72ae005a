"""Schedules (出诊排班): institution admins create sessions for their doctors and their bookable
resources (:mod:`ihospital.booking.resources`), one-off or weekly, each cut into exact slots;
stopping a session (停诊) cancels its appointments. Where the institution allows it, doctors
create and stop their own sessions too (:mod:`.schedulers`).

Capacity per slot: a session's capacity must be a whole multiple of its number of slots, and
each slot takes ``capacity / slots`` patients, so every slot of a session is alike and a patient's
time is exact. A capacity that does not divide is refused rather than spread unevenly. A
resource's session is asked for by the places of each window instead
(:mod:`ihospital.booking.resource_schedules`), which always divides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.admission import place_freed
from ihospital.booking.models import (
    ACTIVE_STATUSES,
    Appointment,
    ScheduleSession,
    Slot,
    WaitlistEntry,
)
from ihospital.booking.payment import refund_later
from ihospital.booking.resources import schedulable_resource
from ihospital.booking.rules import local_moment
from ihospital.booking.schedulers import authorise_scheduling
from ihospital.core.context import Actor
from ihospital.directory.access import managed_institution
from ihospital.directory.models import Practitioner
from ihospital.directory.sites import schedulable_site
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.outbox.service import emit

APPOINTMENT_CANCELLED = "booking.appointment_cancelled"
MAX_RECURRING_DAYS = 92
# When each half-day may start (local time): 上午 before noon, 下午 12:00–17:59, 晚上 from 17:00.
HALF_DAY_STARTS = {
    "morning": (time(0, 0), time(11, 59)),
    "afternoon": (time(12, 0), time(17, 59)),
    "evening": (time(17, 0), time(23, 59)),
}


@dataclass(frozen=True)
class SessionPlan:
    """What an admin asks for: the doctor (or the resource), place, hours, kind of visit, fee
    and capacity."""

    practitioner_id: int | None
    department_code: str
    half_day: str
    start_time: time
    end_time: time
    visit_type: str
    fee_class: str
    fee_fen: int
    capacity: int
    slot_minutes: int
    resource_id: int | None = None


@dataclass(frozen=True)
class SessionView:
    session: ScheduleSession
    slots: list[Slot]

    @property
    def booked(self) -> int:
        return sum(slot.booked for slot in self.slots)


def _invalid(field: str, message: str, **fields: object) -> Unprocessable:
    return Unprocessable(f"booking.invalid_{field}", message, field=field, **fields)


def slot_count(plan: SessionPlan) -> int:
    """How many slots the plan's hours make, after checking hours, capacity and slot length."""
    if plan.capacity <= 0:
        raise _invalid("capacity", "The capacity must be at least 1.")
    slots = window_count(plan)
    if plan.capacity % slots:
        raise _invalid(
            "capacity",
            "The capacity must be a multiple of the {slots} slots of the session.",
            slots=slots,
        )
    return slots


def window_count(plan: SessionPlan) -> int:
    """How many slots (time windows) the plan's hours make, after checking the hours, the fee
    and the slot length (not the capacity)."""
    if plan.fee_fen < 0:
        raise _invalid("fee_fen", "The fee cannot be negative.")
    if plan.slot_minutes <= 0:
        raise _invalid("slot_minutes", "The slot length must be at least 1 minute.")
    for field in ("start_time", "end_time"):
        if getattr(plan, field).tzinfo is not None:
            raise _invalid(field, "Give the local time of day (Asia/Shanghai) without a zone.")
    earliest, latest = HALF_DAY_STARTS[plan.half_day]
    if not earliest <= plan.start_time <= latest:
        raise _invalid("start_time", "The start time does not fall in the chosen half-day.")
    start = plan.start_time.hour * 60 + plan.start_time.minute
    end = plan.end_time.hour * 60 + plan.end_time.minute
    if plan.start_time.second or plan.end_time.second or end <= start:
        raise _invalid("end_time", "The end time must be a whole minute after the start time.")
    if (end - start) % plan.slot_minutes:
        raise _invalid(
            "slot_minutes",
            "Slots of {minutes} minutes do not divide the session evenly.",
            minutes=plan.slot_minutes,
        )
    return (end - start) // plan.slot_minutes


def cut_slots(plan: SessionPlan, day: date) -> list[Slot]:
    """The session's slots on ``day``: exact local times stored as UTC, numbered from 1."""
    count = slot_count(plan)
    start = local_moment(day, plan.start_time)
    step = timedelta(minutes=plan.slot_minutes)
    return [
        Slot(
            position=index + 1,
            starts_at=start + index * step,
            ends_at=start + (index + 1) * step,
            capacity=plan.capacity // count,
            booked=0,
        )
        for index in range(count)
    ]


def recurring_days(start: date, until: date, weekdays: Sequence[int]) -> list[date]:
    """Every day from ``start`` to ``until`` (inclusive) falling on one of ``weekdays`` (ISO:
    1 Monday … 7 Sunday)."""
    if until < start:
        raise _invalid("until", "The last day must not be before the first day.")
    if (until - start).days >= MAX_RECURRING_DAYS:
        raise _invalid("until", "A weekly schedule spans at most {days} days.", days=92)
    if not weekdays or any(not 1 <= weekday <= 7 for weekday in weekdays):
        raise _invalid("weekdays", "Choose weekdays from 1 (Monday) to 7 (Sunday).")
    days = [start + timedelta(days=n) for n in range((until - start).days + 1)]
    chosen = [day for day in days if day.isoweekday() in set(weekdays)]
    if not chosen:
        raise _invalid("weekdays", "No day in this period falls on the chosen weekdays.")
    return chosen


async def _ensure_free(session: AsyncSession, plan: SessionPlan, slots: list[Slot]) -> None:
    overlapping = await session.scalar(
        select(ScheduleSession.id).where(
            ScheduleSession.practitioner_id == plan.practitioner_id
            if plan.resource_id is None
            else ScheduleSession.resource_id == plan.resource_id,
            ScheduleSession.status == "open",
            ScheduleSession.starts_at < slots[-1].ends_at,
            ScheduleSession.ends_at > slots[0].starts_at,
        )
    )
    if overlapping is not None and plan.resource_id is not None:
        raise Conflict(
            "booking.session_overlap",
            "This service already has session {session_id} at this time.",
            session_id=overlapping,
        )
    if overlapping is not None:
        raise Conflict(
            "booking.session_overlap",
            "The doctor already has session {session_id} at this time.",
            session_id=overlapping,
        )


async def create_sessions(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    plan: SessionPlan,
    days: Sequence[date],
) -> list[SessionView]:
    """Create one session of ``plan`` on each of ``days`` (one day: a one-off session; the days
    of :func:`recurring_days`: a weekly schedule). All or none: an overlap with the doctor's
    (or resource's) other sessions, a past day, a doctor not practising here or a resource not
    offered here refuses the whole request. A resource's plan comes from
    :func:`ihospital.booking.resource_schedules.window_plan`."""
    await authorise_scheduling(
        session, actor, institution_id=institution_id, practitioner_id=plan.practitioner_id
    )
    slot_count(plan)
    if min(days) < actor.clock.today_local():
        raise _invalid("day", "A session cannot be scheduled on a past day.")
    if plan.resource_id is not None:
        await schedulable_resource(
            session, institution_id=institution_id, resource_id=plan.resource_id
        )
    else:
        await _lock_doctor(session, institution_id=institution_id, plan=plan)
    now = actor.clock.now()
    views = []
    for day in sorted(set(days)):
        slots = cut_slots(plan, day)
        await _ensure_free(session, plan, slots)
        row = ScheduleSession(
            institution_id=institution_id,
            practitioner_id=plan.practitioner_id,
            resource_id=plan.resource_id,
            department_code=plan.department_code,
            day=day,
            half_day=plan.half_day,
            starts_at=slots[0].starts_at,
            ends_at=slots[-1].ends_at,
            visit_type=plan.visit_type,
            fee_class=plan.fee_class,
            fee_fen=plan.fee_fen,
            capacity=plan.capacity,
            slot_minutes=plan.slot_minutes,
            status="open",
            created_by_account_id=actor.account_id,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        for slot in slots:
            slot.session_id = row.id
        session.add_all(slots)
        await session.flush()
        views.append(SessionView(row, slots))
    await record(
        session,
        actor,
        action="booking.sessions.create",
        subject_type="practitioner" if plan.resource_id is None else "booking_resource",
        subject_id=plan.practitioner_id if plan.resource_id is None else plan.resource_id,
        details={"session_ids": [view.session.id for view in views]},
    )
    return views


async def _lock_doctor(session: AsyncSession, *, institution_id: int, plan: SessionPlan) -> None:
    """Check that the plan's doctor is a verified doctor of its department here, and lock the
    doctor's row."""
    site = await schedulable_site(
        session,
        practitioner_id=plan.practitioner_id,
        institution_id=institution_id,
        department_code=plan.department_code,
    )
    if site is None:
        raise _invalid(
            "practitioner_id", "This doctor is not a verified doctor of this department here."
        )
    # one request at a time schedules a doctor, so two cannot both find no overlap (SQLite needs
    # no row lock: each transaction holds the database's write lock from BEGIN IMMEDIATE)
    await session.execute(
        select(Practitioner.id).where(Practitioner.id == plan.practitioner_id).with_for_update()
    )


async def session_views(
    session: AsyncSession, rows: Sequence[ScheduleSession]
) -> list[SessionView]:
    """The sessions with their slots, in two queries."""
    slots = (
        await session.scalars(
            select(Slot)
            .where(Slot.session_id.in_([row.id for row in rows]))
            .order_by(Slot.session_id, Slot.position)
        )
    ).all()
    by_session: dict[int, list[Slot]] = {row.id: [] for row in rows}
    for slot in slots:
        by_session[slot.session_id].append(slot)
    return [SessionView(row, by_session[row.id]) for row in rows]


async def list_sessions(
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    start: date,
    until: date,
    practitioner_id: int | None = None,
    resource_id: int | None = None,
) -> list[SessionView]:
    """An institution's sessions from ``start`` to ``until``, by time (for its admins); only
    one doctor's or one resource's when asked."""
    await managed_institution(session, actor, institution_id)
    statement = select(ScheduleSession).where(
        ScheduleSession.institution_id == institution_id,
        ScheduleSession.day >= start,
        ScheduleSession.day <= until,
    )
    if practitioner_id is not None:
        statement = statement.where(ScheduleSession.practitioner_id == practitioner_id)
    if resource_id is not None:
        statement = statement.where(ScheduleSession.resource_id == resource_id)
    rows = (await session.scalars(statement.order_by(ScheduleSession.starts_at))).all()
    return await session_views(session, rows)


async def get_session(
    session: AsyncSession, actor: Actor, *, institution_id: int, session_id: int
) -> SessionView:
    """One session of an institution the actor manages, with its slots."""
    await managed_institution(session, actor, institution_id)
    row = await session.scalar(
        select(ScheduleSession).where(
            ScheduleSession.id == session_id, ScheduleSession.institution_id == institution_id
        )
    )
    if row is None:
        raise NotFound("booking.session_not_found", "This session does not exist.")
    return (await session_views(session, [row]))[0]


async def stop_session(
    session: AsyncSession, actor: Actor, *, institution_id: int, session_id: int
) -> SessionView:
    """停诊: stop a session, cancel its active appointments and free their slots. Each cancelled
    appointment is announced by an outbox event (the patient is told); paid fees are refunded
    and the session's waitlist ends (its entries lapse)."""
    row = await session.scalar(
        select(ScheduleSession)
        .where(ScheduleSession.id == session_id, ScheduleSession.institution_id == institution_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound("booking.session_not_found", "This session does not exist.")
    await authorise_scheduling(
        session, actor, institution_id=institution_id, practitioner_id=row.practitioner_id
    )
    if row.status == "stopped":
        raise Conflict("booking.session_stopped", "This session has been stopped.")
    now = actor.clock.now()
    row.status = "stopped"
    row.stopped_at = now
    paid = (
        await session.scalars(
            select(Appointment)
            .where(Appointment.session_id == row.id, Appointment.status == "confirmed")
            .with_for_update()
        )
    ).all()
    cancelled = (
        await session.scalars(
            update(Appointment)
            .where(Appointment.session_id == row.id, Appointment.status.in_(ACTIVE_STATUSES))
            .values(status="cancelled", cancelled_at=now, cancel_reason="session_stopped")
            .returning(Appointment)
        )
    ).all()
    emptied = await session.scalars(
        update(Slot).where(Slot.session_id == row.id).values(booked=0).returning(Slot.id)
    )
    for slot_id in emptied.all():
        place_freed(session, slot_id)  # a stopped session's slot is refused as stopped, not full
    for appointment in cancelled:
        await emit(
            session,
            actor,
            topic=APPOINTMENT_CANCELLED,
            payload={
                "appointment_id": appointment.id,
                "account_id": appointment.account_id,
                "patient_id": appointment.patient_id,
                "reason": "session_stopped",
                "starts_at": row.starts_at.isoformat(),
                "resource_id": row.resource_id,
            },
            dedupe_key=f"{APPOINTMENT_CANCELLED}:{appointment.id}",
        )
    for appointment in paid:
        await refund_later(session, actor, appointment=appointment)
    await session.execute(
        update(WaitlistEntry)
        .where(WaitlistEntry.session_id == row.id, WaitlistEntry.status == "waiting")
        .values(status="lapsed", ended_at=now)
    )
    await session.flush()
    await record(
        session,
        actor,
        action="booking.session.stop",
        subject_type="booking_session",
        subject_id=row.id,
        details={"cancelled_appointment_ids": [appointment.id for appointment in cancelled]},
    )
    return (await session_views(session, [row]))[0]
