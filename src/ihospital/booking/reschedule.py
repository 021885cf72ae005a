"""改约 (rescheduling): a patient account moves an active appointment of one of its 就诊人 to
another time.

Where to: a slot of the same doctor at the same institution and department, for the same kind of
visit and the same registration fee (fee class and amount); a vaccination's or check-up's
appointment, a time window of the same service for the same fee. A doctor's appointment never
moves into a service's window, nor the other way round. The fee's billing order belongs to
the institution and names this appointment, so it carries over untouched: a paid appointment
stays paid (nothing charged, nothing refunded) and an unpaid one keeps its order and hold expiry.
Anything else — another doctor, another fee — is a new booking: cancel and book instead.

When: until the cutoff of the current day, as for cancelling (the move gives up the current
place), into a slot a booking could take now (session open, slot not begun, released), with the
booking rules of the new day checked for the 就诊人 leaving this appointment out.

How: the appointment row itself moves — same id, same 就诊人, so the real-name binding never
changes — in one savepoint: the old place is freed exactly as a cancellation frees it (offered to
the first on the waitlist, else back to its slot) and a place of the new slot is taken with
booking's conditional UPDATE; a refusal at any step undoes both, so the appointment never holds
two places nor none. Locks: both sessions (in id order), the appointment, the 就诊人, then the
slots — the order of cancelling and booking. The reminders and the no-show check are written for
the new time; those of the old time stay silent (:func:`.reminders.timer_is_current`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.appointments import (
    AppointmentView,
    appointment_view,
    check_rules,
    claim_place,
    slot_full,
)
from ihospital.booking.availability import OpenSession, released_sessions
from ihospital.booking.cancellation import ensure_changeable, own_appointment
from ihospital.booking.models import Appointment, Reschedule, ScheduleSession, Slot
from ihospital.booking.reminders import schedule_appointment_timers
from ihospital.booking.rules import rules_of
from ihospital.booking.waitlist import free_place
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound, Unprocessable
from ihospital.identity.patients import get_patient
from ihospital.outbox.service import emit

APPOINTMENT_RESCHEDULED = "booking.appointment_rescheduled"
# What a new time must share with the old one: the doctor (or the vaccination or check-up) and
# place, and the kind of visit.
SAME_SERVICE = (
    "practitioner_id",
    "resource_id",
    "institution_id",
    "department_code",
    "visit_type",
)


async def _slot(session: AsyncSession, slot_id: int) -> tuple[Slot, ScheduleSession]:
    found = (
        await session.execute(
            select(Slot, ScheduleSession)
            .join(ScheduleSession, ScheduleSession.id == Slot.session_id)
            .where(Slot.id == slot_id)
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        raise NotFound("booking.slot_not_found", "This slot does not exist.")
    return found[0], found[1]


def _same_service(old: ScheduleSession, new: ScheduleSession) -> bool:
    return all(getattr(old, name) == getattr(new, name) for name in SAME_SERVICE)


def _same_fee(old: ScheduleSession, new: ScheduleSession) -> bool:
    return (old.fee_class, old.fee_fen) == (new.fee_class, new.fee_fen)


def _ensure_alike(old: ScheduleSession, new: ScheduleSession) -> None:
    if (old.resource_id is None) != (new.resource_id is None):
        raise Unprocessable(
            "booking.reschedule_other_kind",
            "A doctor's appointment and a vaccination or check-up cannot take each other's "
            "times; cancel this appointment and book the other one instead.",
            field="slot_id",
        )
    if old.resource_id is not None and not _same_service(old, new):
        raise Unprocessable(
            "booking.reschedule_other_service",
            "A vaccination or check-up moves only to another time window of the same service; "
            "cancel it and book the other one instead.",
            field="slot_id",
        )
    if not _same_service(old, new):
        raise Unprocessable(
            "booking.reschedule_elsewhere",
            "An appointment moves only to another time of the same doctor, department and kind "
            "of visit; cancel it and book the other one instead.",
            field="slot_id",
        )
    if not _same_fee(old, new):
        raise Unprocessable(
            "booking.reschedule_fee_differs",
            "The new time has another registration fee; cancel this appointment and book the "
            "new time instead.",
            field="slot_id",
        )


def _same_provider(appointment: Appointment) -> ColumnElement[bool]:
    """The sessions of the appointment's doctor, or of its vaccination or check-up."""
    if appointment.resource_id is not None:
        return ScheduleSession.resource_id == appointment.resource_id
    return ScheduleSession.practitioner_id == appointment.practitioner_id


@dataclass(frozen=True)
class RescheduleChoices:
    """An appointment and the released sessions of its doctor (or service) it may move to."""

    current: AppointmentView
    sessions: list[OpenSession]


async def reschedule_choices(
    session: AsyncSession, actor: Actor, *, appointment_id: int
) -> RescheduleChoices:
    """One of the account's appointments (another account's is not found; the read is audited)
    with the released sessions of its doctor (or of its vaccination or check-up) of the same
    department, kind of visit and fee — where :func:`reschedule_appointment` may move it."""
    appointment = await session.scalar(
        select(Appointment).where(
            Appointment.id == appointment_id, Appointment.account_id == actor.account_id
        )
    )
    if appointment is None:
        raise NotFound("booking.appointment_not_found", "This appointment does not exist.")
    current = await appointment_view(session, appointment)
    await record(
        session,
        actor,
        action="booking.appointment.read",
        subject_type="appointment",
        subject_id=appointment.id,
        patient_id=appointment.patient_id,
    )
    released = await released_sessions(session, actor, _same_provider(appointment))
    alike = [
        offer
        for offer in released
        if _same_service(current.schedule, offer.view.session)
        and _same_fee(current.schedule, offer.view.session)
    ]
    return RescheduleChoices(current, alike)


async def _by_key(session: AsyncSession, actor: Actor, key: str) -> Reschedule | None:
    return await session.scalar(
        select(Reschedule).where(
            Reschedule.account_id == actor.account_id, Reschedule.idempotency_key == key
        )
    )


def _replayed(move: Reschedule, *, appointment_id: int, slot_id: int) -> None:
    if move.appointment_id != appointment_id or move.to_slot_id != slot_id:
        raise Conflict(
            "booking.idempotency_key_reused",
            "This idempotency key was used for another booking.",
            field="idempotency_key",
        )


async def reschedule_appointment(
    session: AsyncSession,
    actor: Actor,
    *,
    appointment_id: int,
    slot_id: int,
    idempotency_key: str,
) -> AppointmentView:
    """改约: move an active appointment of one of the account's 就诊人 (another account's is not
    found) to ``slot_id``, a free slot of the same doctor, department, kind of visit and fee (a
    vaccination's or check-up's: a window of the same service and fee), until the cutoff of its
    day. The booking rules hold on the new day (the appointment itself left out; a service's age
    and sex limits on the new day too); the payment carries over; the freed place goes to the
    waitlist (候补) or back to its slot. The same idempotency key answers the same move."""
    slot, schedule = await _slot(session, slot_id)
    appointment = await own_appointment(
        session, actor, appointment_id=appointment_id, also_session_id=schedule.id
    )
    if (move := await _by_key(session, actor, idempotency_key)) is not None:
        _replayed(move, appointment_id=appointment.id, slot_id=slot.id)
        return await appointment_view(session, appointment)
    await ensure_changeable(session, actor, appointment=appointment, change="reschedule")
    if appointment.slot_id == slot.id:
        raise Unprocessable(
            "booking.reschedule_same_slot",
            "The appointment is already at this time.",
            field="slot_id",
        )
    _ensure_alike(await session.get(ScheduleSession, appointment.session_id), schedule)
    patient = await get_patient(session, actor, patient_id=appointment.patient_id, for_update=True)
    await check_rules(
        session,
        actor,
        patient=patient,
        slot=slot,
        schedule=schedule,
        rules=await rules_of(session, schedule.institution_id),
        excluding=appointment.id,
    )
    if slot.booked >= slot.capacity:
        raise slot_full()
    from_slot_id = appointment.slot_id
    try:
        async with session.begin_nested():
            await free_place(session, actor, appointment=appointment)
            await claim_place(session, slot)
            appointment.slot_id = slot.id
            appointment.session_id = schedule.id
            appointment.day = schedule.day
            move = Reschedule(
                appointment_id=appointment.id,
                account_id=actor.account_id,
                from_slot_id=from_slot_id,
                to_slot_id=slot.id,
                idempotency_key=idempotency_key,
                created_at=actor.clock.now(),
            )
            session.add(move)
    except IntegrityError:
        # the same key's move committed meanwhile, or the 就诊人 already holds the new slot
        if (move := await _by_key(session, actor, idempotency_key)) is not None:
            _replayed(move, appointment_id=appointment_id, slot_id=slot_id)
            await session.refresh(appointment)  # expired by the savepoint's rollback
            return await appointment_view(session, appointment)
        raise Conflict(
            "booking.already_booked", "This patient already holds a place in this slot."
        ) from None
    await schedule_appointment_timers(
        session, actor, appointment=appointment, slot=slot, schedule=schedule, reschedule_id=move.id
    )
    await record(
        session,
        actor,
        action="booking.appointment.reschedule",
        subject_type="appointment",
        subject_id=appointment.id,
        patient_id=appointment.patient_id,
        details={"reschedule_id": move.id, "from_slot_id": from_slot_id, "to_slot_id": slot.id},
    )
    await emit(
        session,
        actor,
        topic=APPOINTMENT_RESCHEDULED,
        payload={"account_id": appointment.account_id, "starts_at": slot.starts_at.isoformat()},
        dedupe_key=f"{APPOINTMENT_RESCHEDULED}:{move.id}",
    )
    await session.refresh(slot)
    return await appointment_view(session, appointment)
