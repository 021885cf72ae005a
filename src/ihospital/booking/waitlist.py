"""候补 (waitlist): a 就诊人 waits for a place in a full session or slot and is offered the next
one that frees, in order, exactly once.

A place frees when an appointment is cancelled by its patient or its registration fee's hold
lapses (a stopped session frees nothing to offer). :func:`free_place` runs in the transaction
that cancelled the appointment: with the session row locked, it picks the first waiting entry
whose 就诊人 still passes the booking rules and gives that 就诊人 the freed place (with its own
hold when there is a fee), or gives the place back to the slot. Locks are taken session, then
就诊人, then slot — joining takes them in the same order and booking takes 就诊人 then slot — so
concurrent cancellations and joins queue on the session rather than deadlock, and one freed
place is never offered twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.admission import place_freed
from ihospital.booking.appointments import (
    PlaceHeld,
    check_rules,
    locked_appointment,
    locked_schedule,
    take_place,
)
from ihospital.booking.models import Appointment, ScheduleSession, Slot, WaitlistEntry
from ihospital.booking.rules import rules_of
from ihospital.core.context import Actor
from ihospital.errors import AppError, Conflict, NotFound, Unprocessable
from ihospital.identity.patients import get_patient, get_patient_on_behalf
from ihospital.outbox.service import emit

WAITLIST_OFFERED = "booking.waitlist_offered"


async def free_place(session: AsyncSession, actor: Actor, *, appointment: Appointment) -> None:
    """The place of ``appointment``, just cancelled, goes to the first waiting 就诊人 who still
    passes the booking rules (their entry is ``offered``), else back to its slot. Entries whose
    就诊人 no longer passes the rules have ``lapsed``."""
    schedule = await locked_schedule(session, appointment.session_id)
    slot = await session.get(Slot, appointment.slot_id, populate_existing=True)
    system = Actor.system(actor.clock, request_id=actor.request_id)
    await session.execute(
        update(Slot)
        .where(Slot.id == slot.id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )
    place_freed(session, slot.id)
    if schedule.status != "open" or slot.starts_at <= actor.clock.now():
        return
    async with aclosing(_in_line(session, system, schedule=schedule, slot=slot)) as line:
        async for chosen in line:
            try:
                async with session.begin_nested():
                    offered, _ = await take_place(
                        session,
                        system,
                        slot=slot,
                        schedule=schedule,
                        patient_id=chosen.patient_id,
                        account_id=chosen.account_id,
                        idempotency_key=f"waitlist:{chosen.id}",
                    )
            except (PlaceHeld, IntegrityError):  # the 就诊人 holds this place (or day) another way
                _lapse(chosen, actor)
                await session.refresh(slot)
                continue
            break
        else:
            return
    chosen.status = "offered"
    chosen.appointment_id = offered.id
    chosen.ended_at = actor.clock.now()
    await session.flush()
    await record(
        session,
        system,
        action="booking.waitlist.offer",
        subject_type="appointment",
        subject_id=offered.id,
        patient_id=chosen.patient_id,
        details={"waitlist_entry_id": chosen.id, "freed_appointment_id": appointment.id},
    )
    await emit(
        session,
        system,
        topic=WAITLIST_OFFERED,
        payload={
            "account_id": chosen.account_id,
            "appointment_id": offered.id,
            "starts_at": slot.starts_at.isoformat(),
            "to_pay": offered.status == "pending_payment",
        },
        dedupe_key=f"{WAITLIST_OFFERED}:{offered.id}",
    )


async def _in_line(
    session: AsyncSession, actor: Actor, *, schedule: ScheduleSession, slot: Slot
) -> AsyncIterator[WaitlistEntry]:
    """The waiting entries that could take ``slot``, in order; those whose 就诊人 no longer
    passes the booking rules have ``lapsed`` on the way, those who already hold ``slot`` wait
    on for another place of the session."""
    rules = await rules_of(session, schedule.institution_id)
    entries = (
        await session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.session_id == schedule.id,
                WaitlistEntry.status == "waiting",
                (WaitlistEntry.slot_id.is_(None)) | (WaitlistEntry.slot_id == slot.id),
            )
            .order_by(WaitlistEntry.id)
        )
    ).all()
    holding = set(
        (
            await session.scalars(
                select(Appointment.patient_id).where(
                    Appointment.slot_id == slot.id,
                    Appointment.status.in_(("pending_payment", "confirmed")),
                )
            )
        ).all()
    )
    for entry in entries:
        if entry.patient_id in holding:
            continue
        patient = await get_patient_on_behalf(
            session, actor, account_id=entry.account_id, patient_id=entry.patient_id
        )
        try:
            await check_rules(
                session, actor, patient=patient, slot=slot, schedule=schedule, rules=rules
            )
        except AppError:
            _lapse(entry, actor)
            continue
        yield entry


def _lapse(entry: WaitlistEntry, actor: Actor) -> None:
    entry.status = "lapsed"
    entry.ended_at = actor.clock.now()


async def release_unpaid(session: AsyncSession, actor: Actor, *, appointment_id: int) -> None:
    """The registration fee's order expired or was cancelled: a still held appointment is
    cancelled as ``unpaid`` and its place freed (:func:`free_place`). Idempotent."""
    appointment = await locked_appointment(session, Appointment.id == appointment_id)
    if appointment is None or appointment.status != "pending_payment":
        return
    appointment.status = "cancelled"
    appointment.hold_expires_at = None
    appointment.cancelled_at = actor.clock.now()
    appointment.cancel_reason = "unpaid"
    await session.flush()
    await record(
        session,
        actor,
        action="booking.appointment.release_unpaid",
        subject_type="appointment",
        subject_id=appointment.id,
        patient_id=appointment.patient_id,
    )
    await free_place(session, actor, appointment=appointment)


async def join_waitlist(
    session: AsyncSession, actor: Actor, *, session_id: int, patient_id: int, slot_id: int | None
) -> WaitlistEntry:
    """Put one of the account's 就诊人 on the waitlist of a full session (or of one full slot of
    it). The booking rules are those of booking (checked against the slot, or the session's
    last slot). Joining again while waiting answers the same entry."""
    schedule = await locked_schedule(session, session_id)
    if schedule is None:
        raise NotFound("booking.session_not_found", "This session does not exist.")
    patient = await get_patient(session, actor, patient_id=patient_id, for_update=True)
    existing = await session.scalar(
        select(WaitlistEntry).where(
            WaitlistEntry.session_id == schedule.id,
            WaitlistEntry.patient_id == patient.id,
            WaitlistEntry.status == "waiting",
        )
    )
    if existing is not None:
        return existing
    slots = (
        await session.scalars(
            select(Slot)
            .where(Slot.session_id == schedule.id)
            .order_by(Slot.position)
            .execution_options(populate_existing=True)
        )
    ).all()
    wanted = _wanted_slots(slots, slot_id)
    rules = await rules_of(session, schedule.institution_id)
    await check_rules(
        session, actor, patient=patient, slot=wanted[-1], schedule=schedule, rules=rules
    )
    now = actor.clock.now()
    if any(slot.booked < slot.capacity for slot in wanted if slot.starts_at > now):
        raise Conflict("booking.places_free", "There are free places: book one instead.")
    entry = WaitlistEntry(
        session_id=schedule.id,
        slot_id=slot_id,
        patient_id=patient.id,
        account_id=actor.account_id,
        status="waiting",
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        raise Conflict(
            "booking.already_waiting", "This patient is already waiting for this session."
        ) from None
    await record(
        session,
        actor,
        action="booking.waitlist.join",
        subject_type="waitlist_entry",
        subject_id=entry.id,
        patient_id=patient.id,
        details={"session_id": schedule.id, "slot_id": slot_id},
    )
    return entry


def _wanted_slots(slots: Sequence[Slot], slot_id: int | None) -> list[Slot]:
    if slot_id is None:
        return list(slots)
    wanted = [slot for slot in slots if slot.id == slot_id]
    if not wanted:
        raise Unprocessable(
            "booking.slot_not_in_session", "This slot is not part of the session.", field="slot_id"
        )
    return wanted


async def leave_waitlist(session: AsyncSession, actor: Actor, *, entry_id: int) -> WaitlistEntry:
    """The account takes one of its 就诊人 off a waitlist they are still waiting on."""
    entry = await session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id, WaitlistEntry.account_id == actor.account_id)
        .with_for_update()
    )
    if entry is None:
        raise NotFound("booking.waitlist_entry_not_found", "This waitlist entry does not exist.")
    if entry.status != "waiting":
        raise Conflict("booking.not_waiting", "This patient is no longer waiting.")
    entry.status = "left"
    entry.ended_at = actor.clock.now()
    await session.flush()
    await record(
        session,
        actor,
        action="booking.waitlist.leave",
        subject_type="waitlist_entry",
        subject_id=entry.id,
        patient_id=entry.patient_id,
    )
    return entry


async def list_waitlist(session: AsyncSession, actor: Actor) -> list[WaitlistEntry]:
    """The waitlist entries of the account's 就诊人, newest first (the read is audited)."""
    entries = (
        await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.account_id == actor.account_id)
            .order_by(WaitlistEntry.id.desc())
        )
    ).all()
    await record(
        session,
        actor,
        action="booking.waitlist.list",
        subject_type="account",
        subject_id=actor.account_id,
        details={"waitlist_entry_ids": [entry.id for entry in entries]},
    )
    return list(entries)


async def waitlist_sessions(
    session: AsyncSession, entries: Sequence[WaitlistEntry]
) -> dict[int, ScheduleSession]:
    """The sessions that ``entries`` (already read by their account) wait for, by id."""
    ids = {entry.session_id for entry in entries}
    if not ids:
        return {}
    rows = await session.scalars(select(ScheduleSession).where(ScheduleSession.id.in_(ids)))
    return {row.id: row for row in rows}
