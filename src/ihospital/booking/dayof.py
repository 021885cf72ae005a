"""The day of the visit: the patient checks in (签到), the doctor sees the day's list and marks
attendance (for a vaccination or check-up, the institution's staff:
:mod:`ihospital.booking.service_day`), and appointments never checked in become no-shows (爽约).

Queue numbers follow the order of check-in: the first patient of a session to check in gets 1.
They belong to the session, and a session belongs to one local day (Asia/Shanghai), so a number
never lands on another day, even when a session starts just after midnight and its check-in
opens the evening before. Check-in is open from ``check_in_opens_minutes`` before to
``check_in_closes_minutes`` after the start of the appointment's slot (the institution's rules).

Statuses on the doctor's list: ``expected`` (slot not begun), ``late`` (slot begun, not checked
in, check-in still open), ``absent`` (check-in closed without check-in), ``checked_in``, and
once marked ``attended`` (the visit has ended) or ``no_show``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.appointments import AppointmentView, local_label, locked_appointment
from ihospital.booking.dayof_models import Visit
from ihospital.booking.models import Appointment, ScheduleSession, Slot
from ihospital.booking.rules import Rules, rules_of
from ihospital.booking.suspensions import apply_no_show_rule
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner
from ihospital.errors import Conflict, NotFound
from ihospital.identity.patient_cards import PatientCard, patient_cards
from ihospital.identity.patients import serialise_patient

DAY_LIST_PURPOSE = "booking.day_list"


@dataclass(frozen=True)
class VisitView:
    appointment: Appointment
    slot: Slot
    visit: Visit | None
    status: str
    patient: PatientCard | None = None  # on the treating doctor's day list


@dataclass(frozen=True)
class DaySession:
    schedule: ScheduleSession
    visits: list[VisitView]

    @property
    def next_in_queue(self) -> VisitView | None:
        """叫号: the checked-in patient with the lowest queue number not yet seen."""
        waiting = [view for view in self.visits if view.status == "checked_in"]
        return min(waiting, key=lambda view: view.visit.queue_number, default=None)


@dataclass(frozen=True)
class CheckInState:
    """签到 of one of the account's appointments: its window, whether it is still to open or
    open now, and the queue number once checked in."""

    opens: datetime
    closes: datetime
    upcoming: bool
    open_now: bool
    queue_number: int | None


def check_in_window(rules: Rules, slot: Slot) -> tuple[datetime, datetime]:
    """From when until when the patient of ``slot`` may check in."""
    return (
        slot.starts_at - timedelta(minutes=rules.check_in_opens_minutes),
        slot.starts_at + timedelta(minutes=rules.check_in_closes_minutes),
    )


def visit_status(rules: Rules, slot: Slot, visit: Visit | None, now: datetime) -> str:
    if visit is not None and visit.outcome is not None:
        return visit.outcome
    if visit is not None and visit.checked_in_at is not None:
        return "checked_in"
    if now < slot.starts_at:
        return "expected"
    return "late" if now <= check_in_window(rules, slot)[1] else "absent"


def _not_found() -> NotFound:
    return NotFound("booking.appointment_not_found", "This appointment does not exist.")


async def _locked_appointment(
    session: AsyncSession, *conditions, patient_first: bool = False
) -> Appointment | None:
    """The appointment, locked after its session (the lock order of stopping and freeing);
    with ``patient_first``, after its 就诊人 too, whose row a no-show's count needs (taken
    first, as a booking takes it before the session's)."""
    if patient_first:
        patient_id = await session.scalar(select(Appointment.patient_id).where(*conditions))
        if patient_id is None:
            return None
        await serialise_patient(session, patient_id=patient_id)
    return await locked_appointment(session, *conditions)


async def _found_appointment(
    session: AsyncSession, *conditions, patient_first: bool = False
) -> Appointment:
    """:func:`_locked_appointment`, or 404."""
    appointment = await _locked_appointment(session, *conditions, patient_first=patient_first)
    if appointment is None:
        raise _not_found()
    return appointment


def _ensure_confirmed(appointment: Appointment) -> None:
    if appointment.status != "confirmed":
        raise Conflict("booking.not_confirmed", "This appointment is not confirmed.")


async def _visit_of(session: AsyncSession, appointment: Appointment) -> Visit:
    visit = await session.scalar(select(Visit).where(Visit.appointment_id == appointment.id))
    if visit is None:
        visit = Visit(appointment_id=appointment.id, session_id=appointment.session_id)
        session.add(visit)
    return visit


@dataclass(frozen=True)
class DoctorVisit:
    """One appointment of the signed-in doctor's sessions, its session and its day-of record
    (none before check-in)."""

    appointment: Appointment
    schedule: ScheduleSession
    visit: Visit | None


async def doctor_visit(
    session: AsyncSession, actor: Actor, *, appointment_id: int, for_update: bool = False
) -> DoctorVisit:
    """An appointment of the signed-in doctor's own sessions, whatever its status, for a domain
    acting on the visit (a prescription written in person); another doctor's, or a
    vaccination's or check-up's, is not found. ``for_update`` locks it after its session."""
    practitioner = await own_practitioner(session, actor)
    conditions = (Appointment.id == appointment_id, Appointment.practitioner_id == practitioner.id)
    if for_update:
        appointment = await _found_appointment(session, *conditions)
    else:
        appointment = await session.scalar(select(Appointment).where(*conditions))
        if appointment is None:
            raise _not_found()
    schedule = await session.get_one(ScheduleSession, appointment.session_id)
    visit = await session.scalar(select(Visit).where(Visit.appointment_id == appointment.id))
    return DoctorVisit(appointment, schedule, visit)


async def check_in(session: AsyncSession, actor: Actor, *, appointment_id: int) -> VisitView:
    """签到 for a confirmed appointment of one of the account's 就诊人, inside the check-in
    window (409 outside it); gives the next queue number of the session. Checking in again
    answers the same number."""
    appointment = await _found_appointment(
        session, Appointment.id == appointment_id, Appointment.account_id == actor.account_id
    )
    _ensure_confirmed(appointment)
    slot = await session.get_one(Slot, appointment.slot_id)
    visit = await _visit_of(session, appointment)
    if visit.checked_in_at is not None:
        return VisitView(appointment, slot, visit, "checked_in")
    if visit.outcome is not None:
        raise Conflict("booking.visit_closed", "This visit has already been closed.")
    rules = await rules_of(session, appointment.institution_id)
    now = actor.clock.now()
    opens, closes = check_in_window(rules, slot)
    if not opens <= now <= closes:
        raise Conflict(
            "booking.check_in_closed",
            "Check-in for this appointment is open from {opens} to {closes}.",
            opens=local_label(opens),
            closes=local_label(closes),
        )
    # The session row's lock (taken first) serialises check-ins of one session; the unique
    # index backs it.
    last = await session.scalar(
        select(func.max(Visit.queue_number)).where(Visit.session_id == appointment.session_id)
    )
    visit.checked_in_at = now
    visit.queue_number = (last or 0) + 1
    await session.flush()
    await record(
        session,
        actor,
        action="booking.appointment.check_in",
        subject_type="appointment",
        subject_id=appointment.id,
        patient_id=appointment.patient_id,
        details={"session_id": appointment.session_id, "queue_number": visit.queue_number},
    )
    return VisitView(appointment, slot, visit, "checked_in")


async def check_in_states(
    session: AsyncSession, actor: Actor, *, views: Sequence[AppointmentView]
) -> dict[int, CheckInState]:
    """签到 state of confirmed appointments the account has already been shown (from
    :func:`ihospital.booking.appointments.list_appointments`), by appointment id."""
    confirmed = [view for view in views if view.appointment.status == "confirmed"]
    if not confirmed:
        return {}
    visits = {
        visit.appointment_id: visit
        for visit in await session.scalars(
            select(Visit).where(Visit.appointment_id.in_([v.appointment.id for v in confirmed]))
        )
    }
    rules = {
        institution_id: await rules_of(session, institution_id)
        for institution_id in {view.appointment.institution_id for view in confirmed}
    }
    now = actor.clock.now()
    states = {}
    for view in confirmed:
        visit = visits.get(view.appointment.id)
        opens, closes = check_in_window(rules[view.appointment.institution_id], view.slot)
        done = visit is not None and (visit.checked_in_at is not None or visit.outcome is not None)
        states[view.appointment.id] = CheckInState(
            opens=opens,
            closes=closes,
            upcoming=not done and now < opens,
            open_now=not done and opens <= now <= closes,
            queue_number=visit.queue_number if visit else None,
        )
    return states


async def doctor_day(
    session: AsyncSession, actor: Actor, *, day: date | None = None
) -> list[DaySession]:
    """The signed-in doctor's sessions of ``day`` (today in Asia/Shanghai by default) with their
    confirmed appointments in slot order, the status of each and the patient's name, sex and
    age — a treating doctor sees the full names of the patients booked with them, and never
    another doctor's (the read is audited)."""
    practitioner = await own_practitioner(session, actor)
    schedules = (
        await session.scalars(
            select(ScheduleSession)
            .where(
                ScheduleSession.practitioner_id == practitioner.id,
                ScheduleSession.day == (day or actor.clock.today_local()),
            )
            .order_by(ScheduleSession.starts_at)
        )
    ).all()
    return await day_sessions(
        session,
        actor,
        schedules,
        subject_type="practitioner",
        subject_id=practitioner.id,
        masked=False,
    )


async def day_sessions(
    session: AsyncSession,
    actor: Actor,
    schedules: Sequence[ScheduleSession],
    *,
    subject_type: str,
    subject_id: int,
    masked: bool,
) -> list[DaySession]:
    """``schedules`` (of one day, whose reader the caller has authorised) with their confirmed
    appointments in slot order, the status of each and the patient's card (``masked`` names for
    staff who do not treat the patients). The read is audited as one of ``subject_type``'s day
    list."""
    rows = (
        await session.execute(
            select(Appointment, Slot, Visit)
            .join(Slot, Slot.id == Appointment.slot_id)
            .outerjoin(Visit, Visit.appointment_id == Appointment.id)
            .where(
                Appointment.session_id.in_([schedule.id for schedule in schedules]),
                Appointment.status == "confirmed",
            )
            .order_by(Slot.position, Appointment.id)
        )
    ).all()
    now = actor.clock.now()
    rules = {
        institution_id: await rules_of(session, institution_id)
        for institution_id in {schedule.institution_id for schedule in schedules}
    }
    await record(
        session,
        actor,
        action="booking.day_list.read",
        subject_type=subject_type,
        subject_id=subject_id,
        details={"appointment_ids": [row[0].id for row in rows]},
    )
    cards = await patient_cards(
        session,
        actor,
        patient_ids=(row[0].patient_id for row in rows),
        purpose=DAY_LIST_PURPOSE,
        masked=masked,
    )
    days = {schedule.id: DaySession(schedule, []) for schedule in schedules}
    for appointment, slot, visit in rows:
        listed = days[appointment.session_id]
        status = visit_status(rules[listed.schedule.institution_id], slot, visit, now)
        patient = cards.get(appointment.patient_id)
        listed.visits.append(VisitView(appointment, slot, visit, status, patient))
    return list(days.values())


async def _record_outcome(
    session: AsyncSession, actor: Actor, appointment: Appointment, visit: Visit, outcome: str
) -> None:
    visit.outcome = outcome
    visit.outcome_at = actor.clock.now()
    visit.marked_by_account_id = actor.account_id
    await session.flush()
    await record(
        session,
        actor,
        action=f"booking.appointment.{outcome}",
        subject_type="appointment",
        subject_id=appointment.id,
        patient_id=appointment.patient_id,
    )
    if outcome == "no_show":
        await apply_no_show_rule(session, actor, appointment=appointment)


async def mark_attendance(
    session: AsyncSession, actor: Actor, *, appointment_id: int, outcome: str
) -> VisitView:
    """The doctor marks a confirmed appointment of their own sessions (another doctor's is not
    found), by the rules of :func:`close_visit`."""
    practitioner = await own_practitioner(session, actor)
    return await close_visit(
        session,
        actor,
        Appointment.id == appointment_id,
        Appointment.practitioner_id == practitioner.id,
        outcome=outcome,
    )


async def close_visit(
    session: AsyncSession, actor: Actor, *conditions: ColumnElement[bool], outcome: str
) -> VisitView:
    """Mark the confirmed appointment matching ``conditions`` (the caller's relation to it; none
    found is 404): ``attended`` ends the visit, from the opening of check-in; ``no_show`` once
    the slot has begun, for a patient not checked in, and counts towards the no-show rule.
    Marking the same outcome again changes nothing; a visit already closed otherwise is
    refused."""
    appointment = await _found_appointment(session, *conditions, patient_first=outcome == "no_show")
    _ensure_confirmed(appointment)
    slot = await session.get_one(Slot, appointment.slot_id)
    visit = await _visit_of(session, appointment)
    if visit.outcome == outcome:
        return VisitView(appointment, slot, visit, outcome)
    if visit.outcome is not None:
        raise Conflict("booking.visit_closed", "This visit has already been closed.")
    now = actor.clock.now()
    rules = await rules_of(session, appointment.institution_id)
    if outcome == "attended" and now < check_in_window(rules, slot)[0]:
        raise Conflict("booking.visit_not_due", "This appointment has not begun yet.")
    if outcome == "no_show":
        if now < slot.starts_at:
            raise Conflict("booking.visit_not_due", "This appointment has not begun yet.")
        if visit.checked_in_at is not None:
            raise Conflict(
                "booking.checked_in_not_no_show",
                "This patient has checked in and cannot be marked as a no-show.",
            )
    await _record_outcome(session, actor, appointment, visit, outcome)
    return VisitView(appointment, slot, visit, outcome)


async def record_missed_visit(
    session: AsyncSession, actor: Actor, *, appointment_id: int
) -> Visit | None:
    """After the session: record a no-show for a confirmed appointment never checked in and not
    marked (the system's timer), in a session not stopped (停诊). Anything else is left as it
    is, so the timer is idempotent."""
    appointment = await _locked_appointment(
        session, Appointment.id == appointment_id, patient_first=True
    )
    if appointment is None or appointment.status != "confirmed":
        return None
    schedule = await session.get_one(ScheduleSession, appointment.session_id)
    if schedule.status != "open":
        return None
    visit = await _visit_of(session, appointment)
    if visit.checked_in_at is not None or visit.outcome is not None:
        return None
    await _record_outcome(session, actor, appointment, visit, "no_show")
    return visit
