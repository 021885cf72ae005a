"""The patient changes an appointment: cancelling it, and what cancelling and 改约
(:mod:`.reschedule`) share — only an active appointment of the account's own 就诊人, only until
the institution's cutoff (by default 18:00 the day before the visit)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.booking.appointments import (
    AppointmentView,
    appointment_view,
    local_label,
    locked_appointment,
)
from ihospital.booking.models import ACTIVE_STATUSES, Appointment
from ihospital.booking.payment import refund_later
from ihospital.booking.rules import cancel_deadline, rules_of
from ihospital.booking.waitlist import free_place
from ihospital.core.context import Actor
from ihospital.errors import Conflict, NotFound


async def own_appointment(
    session: AsyncSession, actor: Actor, *, appointment_id: int, also_session_id: int | None = None
) -> Appointment:
    """One of the account's appointments, locked after its session (and ``also_session_id``);
    another account's is not found."""
    appointment = await locked_appointment(
        session,
        Appointment.id == appointment_id,
        Appointment.account_id == actor.account_id,
        also_session_id=also_session_id,
    )
    if appointment is None:
        raise NotFound("booking.appointment_not_found", "This appointment does not exist.")
    return appointment


async def ensure_changeable(
    session: AsyncSession, actor: Actor, *, appointment: Appointment, change: str
) -> None:
    """Refuse to ``change`` (``cancel`` or ``reschedule``) an appointment after the cutoff of its
    day or once it is no longer active."""
    deadline = cancel_deadline(await rules_of(session, appointment.institution_id), appointment.day)
    if actor.clock.now() >= deadline:
        if change == "reschedule":
            raise Conflict(
                "booking.reschedule_too_late",
                "Appointments on this day could be rescheduled until {deadline}.",
                deadline=local_label(deadline),
            )
        raise Conflict(
            "booking.cancel_too_late",
            "Appointments on this day could be cancelled until {deadline}.",
            deadline=local_label(deadline),
        )
    if appointment.status not in ACTIVE_STATUSES:
        raise Conflict("booking.not_active", "This appointment is no longer active.")


async def cancel_appointment(
    session: AsyncSession, actor: Actor, *, appointment_id: int
) -> AppointmentView:
    """The patient cancels an active appointment of one of the account's 就诊人, until the
    institution's cutoff (by default 18:00 the day before). A paid fee is refunded; the place
    goes to the next on the waitlist (候补) or back to the slot."""
    appointment = await own_appointment(session, actor, appointment_id=appointment_id)
    await ensure_changeable(session, actor, appointment=appointment, change="cancel")
    was_paid = appointment.status == "confirmed"
    appointment.status = "cancelled"
    appointment.hold_expires_at = None
    appointment.cancelled_at = actor.clock.now()
    appointment.cancel_reason = "patient"
    await session.flush()
    await record(
        session,
        actor,
        action="booking.appointment.cancel",
        subject_type="appointment",
        subject_id=appointment.id,
        patient_id=appointment.patient_id,
    )
    if was_paid:
        await refund_later(session, actor, appointment=appointment)
    await free_place(session, actor, appointment=appointment)
    return await appointment_view(session, appointment)
