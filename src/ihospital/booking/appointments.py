"""Appointments (预约): a patient account books a slot for one of its 就诊人 and lists them
(cancelling is :mod:`.cancellation`, moving :mod:`.reschedule`).

Never overbook: the slot's capacity is taken by one conditional UPDATE (``booked < capacity``),
so two requests can never both take the last place, and the per-就诊人 rules are checked after
locking the 就诊人's row, so two requests for one 就诊人 are decided one after the other. The
database backs both (``booked <= capacity``; one active appointment per 就诊人 and slot).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from ihospital.audit.service import record
from ihospital.booking.admission import full_slots
from ihospital.booking.models import (
    ACTIVE_STATUSES,
    Appointment,
    BookingResource,
    BookingRules,
    ScheduleSession,
    Slot,
)
from ihospital.booking.payment import HOLD_MINUTES, bill_registration
from ihospital.booking.reminders import schedule_appointment_timers
from ihospital.booking.resources import check_resource_rules, resources_by_id
from ihospital.booking.rules import Rules, release_moment, stored_rules
from ihospital.booking.suspensions import refuse_suspended, running_suspension
from ihospital.core.clock import to_local
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, TooEarly, Unprocessable
from ihospital.identity.models import Patient
from ihospital.identity.patients import audit_patient_read, lock_patient_for_action, patient_age

# 儿科, 小儿外科, 儿童保健科 (《医疗机构诊疗科目名录》 07, 08, 09) and their sub-departments.
CHILDREN_DEPARTMENTS = ("07", "08", "09")


@dataclass(frozen=True)
class AppointmentView:
    appointment: Appointment
    slot: Slot
    schedule: ScheduleSession
    queue_number: int | None  # None once cancelled
    resource: BookingResource | None = None  # the vaccination or check-up booked, if not a doctor
    replayed: bool = False  # an earlier booking answered again for its idempotency key


def local_label(moment: datetime) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M")


def is_children_department(code: str) -> bool:
    return code.split(".", 1)[0] in CHILDREN_DEPARTMENTS


async def _views(
    session: AsyncSession,
    appointments: Sequence[Appointment],
    *,
    loaded: Sequence[Slot | ScheduleSession] = (),
) -> list[AppointmentView]:
    """Appointments with their slot, session and queue number: the order of the slot in the
    session, then the order of booking, among the session's active appointments. The slots and
    sessions in ``loaded`` (current) are not read again."""
    if not appointments:
        return []
    session_ids = {appointment.session_id for appointment in appointments}
    slots = {row.id: row for row in loaded if isinstance(row, Slot)}
    schedules = {row.id: row for row in loaded if isinstance(row, ScheduleSession)}
    if missing := {a.slot_id for a in appointments} - slots.keys():
        slots.update(
            (slot.id, slot)
            for slot in await session.scalars(select(Slot).where(Slot.id.in_(missing)))
        )
    if missing := session_ids - schedules.keys():
        schedules.update(
            (row.id, row)
            for row in await session.scalars(
                select(ScheduleSession).where(ScheduleSession.id.in_(missing))
            )
        )
    queue = (
        await session.execute(
            select(Appointment.id, Appointment.session_id)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(
                Appointment.session_id.in_(session_ids),
                Appointment.status.in_(ACTIVE_STATUSES),
            )
            .order_by(Appointment.session_id, Slot.position, Appointment.id)
        )
    ).all()
    numbers: dict[int, int] = {}
    counters: dict[int, int] = {}
    for appointment_id, session_id in queue:
        counters[session_id] = counters.get(session_id, 0) + 1
        numbers[appointment_id] = counters[session_id]
    resources = await resources_by_id(
        session, {a.resource_id for a in appointments if a.resource_id is not None}
    )
    return [
        AppointmentView(
            a,
            slots[a.slot_id],
            schedules[a.session_id],
            numbers.get(a.id),
            resources.get(a.resource_id) if a.resource_id is not None else None,
        )
        for a in appointments
    ]


async def appointment_view(session: AsyncSession, appointment: Appointment) -> AppointmentView:
    """One appointment with its slot, session and queue number."""
    return (await _views(session, [appointment]))[0]


@dataclass(frozen=True)
class RuleCounts:
    """What the per-就诊人 rules count, read in one statement: the 就诊人's running suspension
    at the institution, their active appointments with the doctor on the day and at the
    institution, and (when asked) the appointment the account already made with an
    idempotency key."""

    suspension_id: int | None
    same_doctor: int
    at_institution: int
    replay_id: int | None = None


async def rule_counts(
    session: AsyncSession,
    actor: Actor,
    *,
    patient_id: int,
    schedule: ScheduleSession,
    excluding: int | None = None,
    idempotency_key: str | None = None,
) -> RuleCounts:
    """Read :class:`RuleCounts` for ``patient_id`` booking in ``schedule`` (``excluding`` an
    appointment of theirs, as in 改约). Read after the 就诊人's row is locked, so that two
    requests for one 就诊人 count one after the other; the idempotency key is looked up in the
    same statement, so that a request replayed while its first was still running answers the
    first's appointment instead of counting it against the rules."""
    now = actor.clock.now()
    others = () if excluding is None else (Appointment.id != excluding,)
    replay = (
        select(Appointment.id)
        .where(
            Appointment.account_id == actor.account_id,
            Appointment.idempotency_key == idempotency_key,
        )
        .scalar_subquery()
        if idempotency_key is not None
        else literal(None)
    )
    row = (
        await session.execute(
            select(
                running_suspension(
                    patient_id=patient_id, institution_id=schedule.institution_id, now=now
                ),
                func.count().filter(
                    Appointment.practitioner_id == schedule.practitioner_id,
                    Appointment.day == schedule.day,
                ),
                func.count().filter(
                    Appointment.institution_id == schedule.institution_id,
                    Appointment.day >= actor.clock.today_local(),
                ),
                replay,
            ).where(
                Appointment.patient_id == patient_id,
                Appointment.status.in_(ACTIVE_STATUSES),
                *others,
            )
        )
    ).one()
    return RuleCounts(*row)


async def check_rules(
    session: AsyncSession,
    actor: Actor,
    *,
    patient: Patient,
    slot: Slot,
    schedule: ScheduleSession,
    rules: Rules,
    excluding: int | None = None,
    counts: RuleCounts | None = None,
) -> None:
    """The booking rules for ``patient`` taking a place in ``slot`` (``excluding`` an
    appointment of theirs that the place replaces, as in 改约). ``counts``: read by the caller
    with :func:`rule_counts` (same ``excluding``), else read here."""
    now = actor.clock.now()
    if not patient.is_active:
        raise Conflict(
            "booking.patient_removed",
            "This patient has been removed and cannot book.",
            field="patient_id",
        )
    if schedule.status != "open":
        raise session_stopped()
    if slot.starts_at <= now:
        raise Unprocessable("booking.slot_in_past", "This slot has already begun.", field="slot_id")
    released_at = release_moment(rules, schedule.day)
    if now < released_at:
        raise TooEarly(
            "booking.not_released",
            "Slots of this day are not released yet; they open at {release_time}.",
            release_time=local_label(released_at),
            release_at=released_at.isoformat(),
        )
    if counts is None:
        counts = await rule_counts(
            session, actor, patient_id=patient.id, schedule=schedule, excluding=excluding
        )
    if counts.suspension_id is not None:
        await refuse_suspended(session, counts.suspension_id)
    if is_children_department(schedule.department_code) and (
        patient_age(patient, schedule.day) >= rules.child_age_limit
    ):
        raise Unprocessable(
            "booking.children_only",
            "This department sees only children under {age}.",
            age=rules.child_age_limit,
            field="patient_id",
        )
    if schedule.resource_id is not None:
        # a resource's own limits take the place of the per-doctor one
        others = () if excluding is None else (Appointment.id != excluding,)
        await check_resource_rules(session, patient=patient, schedule=schedule, others=others)
    elif counts.same_doctor >= rules.max_per_doctor_per_day:
        raise Conflict(
            "booking.doctor_day_limit",
            "This patient already has an appointment with this doctor on this day.",
            limit=rules.max_per_doctor_per_day,
        )
    if counts.at_institution >= rules.max_active_per_institution:
        raise Conflict(
            "booking.institution_limit",
            "This patient already has {limit} appointments at this institution.",
            limit=rules.max_active_per_institution,
        )


async def _by_key(session: AsyncSession, actor: Actor, key: str) -> Appointment | None:
    return await session.scalar(
        select(Appointment).where(
            Appointment.account_id == actor.account_id, Appointment.idempotency_key == key
        )
    )


async def _replayed(appointment: Appointment, *, slot_id: int, patient_id: int) -> Appointment:
    if appointment.slot_id != slot_id or appointment.patient_id != patient_id:
        raise Conflict(
            "booking.idempotency_key_reused",
            "This idempotency key was used for another booking.",
            field="idempotency_key",
        )
    return appointment


class PlaceHeld(Exception):
    """The new appointment met one of its unique keys: the account's idempotency key was used
    meanwhile, or the 就诊人 already holds this place (or this resource's day). The place taken
    for it has been given back."""


async def take_place(
    session: AsyncSession,
    actor: Actor,
    *,
    slot: Slot,
    schedule: ScheduleSession,
    patient_id: int,
    account_id: int,
    idempotency_key: str,
    rules: Rules | None = None,
) -> tuple[Appointment, int]:
    """Take a place of ``slot`` (if one is free) for a 就诊人 whose rules were checked: a
    confirmed appointment, or with a registration fee one held unpaid for its billing order
    (R: a booking that needs payment holds the slot for 15 minutes), and its queue number.
    ``rules``: the institution's, if the caller has read them. Raises :class:`PlaceHeld` when
    the appointment meets one of its unique keys (the place is given back first, so no
    savepoint is needed).

    The place is taken only while the session is open, read again under a key-share lock (the
    lock the appointment's foreign key takes anyway) in the statement that takes it: a 停诊
    committed since the session was read is seen there (one in progress is waited for), and one
    begun after waits for this booking to end and cancels it."""
    still_open = (
        select(ScheduleSession.id)
        .where(ScheduleSession.id == schedule.id, ScheduleSession.status == "open")
        .with_for_update(read=True, key_share=True)
        .exists()
    )
    try:
        await claim_place(session, slot, still_open)
    except Conflict:
        status = await session.scalar(
            select(ScheduleSession.status).where(ScheduleSession.id == schedule.id)
        )
        if status != "open":
            raise session_stopped() from None
        raise
    now = actor.clock.now()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # ON CONFLICT DO NOTHING: a unique key met answers no row instead of failing the statement
    # (which on PostgreSQL would need a savepoint around it, two more round trips per booking)
    placed = (
        await session.execute(
            dialect.insert(Appointment)
            .values(
                slot_id=slot.id,
                session_id=schedule.id,
                institution_id=schedule.institution_id,
                practitioner_id=schedule.practitioner_id,
                resource_id=schedule.resource_id,
                patient_id=patient_id,
                account_id=account_id,
                day=schedule.day,
                status="pending_payment" if schedule.fee_fen else "confirmed",
                hold_expires_at=now + timedelta(minutes=HOLD_MINUTES) if schedule.fee_fen else None,
                idempotency_key=idempotency_key,
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(Appointment, _queue_number(slot, account_id, idempotency_key))
        )
    ).first()
    if placed is None:
        await give_back_place(session, slot)
        raise PlaceHeld
    appointment, queue_number = placed
    if schedule.fee_fen:
        await bill_registration(session, actor, appointment=appointment, schedule=schedule)
    # reminders and the no-show check (they skip an appointment cancelled or unpaid by then)
    await schedule_appointment_timers(
        session, actor, appointment=appointment, slot=slot, schedule=schedule, rules=rules
    )
    return appointment, queue_number


# a Core alias made once (an ORM alias per request costs more than the statement it is in)
_OTHER_APPOINTMENTS = Appointment.__table__.alias("other_appointments")


def _queue_number(slot: Slot, account_id: int, idempotency_key: str) -> ColumnElement[int]:
    """The queue number of the appointment being inserted, read in its INSERT's RETURNING: one
    after the session's active appointments at its slot's position or before (as
    :func:`_views` numbers them, the new one being the latest at its slot). The new row itself
    is left out by its key: PostgreSQL's RETURNING does not see it, SQLite's does. An alias and
    one table per (sub)query: SQLite's RETURNING names every column bare."""
    other = _OTHER_APPOINTMENTS.c
    slots_before = select(Slot.id).where(
        Slot.session_id == slot.session_id, Slot.position <= slot.position
    )
    return (
        select(func.count())
        .select_from(_OTHER_APPOINTMENTS)
        .where(
            other.session_id == slot.session_id,
            other.status.in_(ACTIVE_STATUSES),
            other.slot_id.in_(slots_before),
            or_(other.account_id != account_id, other.idempotency_key != idempotency_key),
        )
        .scalar_subquery()
        + 1
    )


def slot_full() -> Conflict:
    return Conflict("booking.slot_full", "This slot is fully booked.")


def session_stopped() -> Conflict:
    return Conflict("booking.session_stopped", "This session has been stopped.")


async def claim_place(session: AsyncSession, slot: Slot, *conditions: ColumnElement[bool]) -> None:
    """Count one more place of ``slot`` as taken, if one is free (and ``conditions`` hold): one
    conditional UPDATE, so two requests never both take the last place; ``slot`` then holds the
    new count."""
    booked = await session.scalar(
        update(Slot)
        .where(Slot.id == slot.id, Slot.booked < Slot.capacity, *conditions)
        .values(booked=Slot.booked + 1)
        .returning(Slot.booked)
        .execution_options(synchronize_session=False)
    )
    if booked is None:
        raise slot_full()
    set_committed_value(slot, "booked", booked)


async def give_back_place(session: AsyncSession, slot: Slot) -> None:
    """Undo :func:`claim_place` in the same transaction (whose lock on the slot's row is still
    held): the place was taken for an appointment that could not be made."""
    booked = await session.scalar(
        update(Slot)
        .where(Slot.id == slot.id)
        .values(booked=Slot.booked - 1)
        .returning(Slot.booked)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(slot, "booked", booked)


async def book_slot(
    session: AsyncSession, actor: Actor, *, slot_id: int, patient_id: int, idempotency_key: str
) -> AppointmentView:
    """Book ``slot_id`` for one of the account's 就诊人 (another account's is not found). The
    same idempotency key answers the same appointment. Rules: the session is open, the slot
    not begun and released (放号), a children's department only for children, at most N per
    doctor and day and M active per institution (the institution's rules), and a free place.
    A resource's session (vaccination, check-up) has the resource's rules instead of the
    per-doctor one (:func:`ihospital.booking.resources.check_resource_rules`).

    A slot already full is refused first, before the 就诊人 is locked and read: in a flash crowd
    most requests are refused, and they must not queue behind the bookings (the count is read
    again, atomically, when a place is taken). A slot this process has just seen full is refused
    without reading it again (:mod:`.admission`)."""
    # a key already used answers its appointment, even once the slot is full
    key_used = select(Appointment.id).where(
        Appointment.account_id == actor.account_id,
        Appointment.idempotency_key == idempotency_key,
    )
    used_key = key_used.scalar_subquery()
    full = full_slots(session)
    if full is not None and full.is_full(slot_id) and await session.scalar(key_used) is None:
        raise slot_full()
    freed_before = full.freed if full is not None else 0
    found = (
        await session.execute(
            select(Slot, ScheduleSession, used_key, BookingRules)
            .join(ScheduleSession, ScheduleSession.id == Slot.session_id)
            .outerjoin(BookingRules, BookingRules.institution_id == ScheduleSession.institution_id)
            .where(Slot.id == slot_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        raise NotFound("booking.slot_not_found", "This slot does not exist.")
    slot, schedule, replay_id, stored = found
    if slot.booked >= slot.capacity and replay_id is None:
        if full is not None:
            full.mark(slot_id, freed_before=freed_before)
        raise slot_full()
    # the booking's audit entry names the 就诊人 and stands for this read; a replay records it
    patient = await lock_patient_for_action(session, actor, patient_id=patient_id)
    counts = await rule_counts(
        session, actor, patient_id=patient.id, schedule=schedule, idempotency_key=idempotency_key
    )
    if counts.replay_id is not None:
        earlier = await session.get(Appointment, counts.replay_id)
        return await _replay(
            session, actor, patient, earlier, slot_id=slot_id, patient_id=patient_id
        )
    rules = stored_rules(stored)
    await check_rules(
        session, actor, patient=patient, slot=slot, schedule=schedule, rules=rules, counts=counts
    )
    try:
        appointment, queue_number = await take_place(
            session,
            actor,
            slot=slot,
            schedule=schedule,
            patient_id=patient.id,
            account_id=actor.account_id,
            idempotency_key=idempotency_key,
            rules=rules,
        )
    except PlaceHeld:
        if (earlier := await _by_key(session, actor, idempotency_key)) is None:
            raise Conflict(
                "booking.already_booked", "This patient already holds a place in this slot."
            ) from None
        return await _replay(
            session, actor, patient, earlier, slot_id=slot_id, patient_id=patient_id
        )
    await record(
        session,
        actor,
        action="booking.appointment.book",
        subject_type="appointment",
        subject_id=appointment.id,
        patient_id=patient.id,
        details={"slot_id": slot.id, "session_id": schedule.id},
    )
    if schedule.resource_id is not None:  # the view names the vaccination or check-up
        return (await _views(session, [appointment], loaded=[slot, schedule]))[0]
    return AppointmentView(appointment, slot, schedule, queue_number)


async def _replay(
    session: AsyncSession,
    actor: Actor,
    patient: Patient,
    earlier: Appointment,
    *,
    slot_id: int,
    patient_id: int,
) -> AppointmentView:
    """``earlier``, made with the request's idempotency key, answered again (the read of the
    就诊人 recorded), or a conflict if the key was used for another booking."""
    await _replayed(earlier, slot_id=slot_id, patient_id=patient_id)
    await audit_patient_read(session, actor, patient)
    return replace((await _views(session, [earlier]))[0], replayed=True)


async def list_appointments(session: AsyncSession, actor: Actor) -> list[AppointmentView]:
    """The appointments of the account's 就诊人, latest visit first (the read is audited)."""
    appointments = (
        await session.scalars(
            select(Appointment)
            .where(Appointment.account_id == actor.account_id)
            .order_by(Appointment.day.desc(), Appointment.id.desc())
        )
    ).all()
    await record(
        session,
        actor,
        action="booking.appointments.list",
        subject_type="account",
        subject_id=actor.account_id,
        details={"appointment_ids": [appointment.id for appointment in appointments]},
    )
    return await _views(session, appointments)


async def locked_schedule(session: AsyncSession, session_id: int) -> ScheduleSession | None:
    """The session row, locked: changes to a session's places (stopping, freeing, joining its
    waitlist) queue on it."""
    return await session.scalar(
        select(ScheduleSession)
        .where(ScheduleSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def locked_appointment(
    session: AsyncSession, *conditions, also_session_id: int | None = None
) -> Appointment | None:
    """The appointment matching ``conditions``, locked after its session (the lock order of
    :func:`ihospital.booking.schedules.stop_session`, so the two never deadlock) and after
    ``also_session_id``, the sessions in id order. An appointment moved to another session
    (改约) while waiting is locked again after that one."""
    while True:
        found = await session.scalar(select(Appointment.session_id).where(*conditions))
        if found is None:
            return None
        for session_id in sorted({found, also_session_id or found}):
            await locked_schedule(session, session_id)
        appointment = await session.scalar(
            select(Appointment)
            .where(*conditions)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if appointment.session_id == found:
            return appointment
