"""The registration fee (挂号费) of an appointment, through billing.

Booking a slot of a session with a fee creates a billing order for it (one ``registration``
line naming the appointment) and holds the place unpaid for :data:`HOLD_MINUTES`; billing's
durable timer expires the order, so the hold survives a restart. Billing's events come back
here (subscribers in :mod:`ihospital.booking.tasks`): paid confirms the appointment; expired or
cancelled releases its place (:func:`ihospital.booking.waitlist.release_unpaid`). A paid
appointment that is cancelled — by the patient before the cutoff, by 停诊, or before its payment
arrived — is refunded by the system through billing after commit (:data:`REFUND_TOPIC`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.billing.events import billed_subjects
from ihospital.billing.insurance.platform import InsurancePlatform
from ihospital.billing.orders import LineItem, create_order
from ihospital.billing.refunds import refund_the_rest
from ihospital.booking.models import Appointment, BookingResource, ScheduleSession
from ihospital.core.context import Actor
from ihospital.outbox.service import emit
from ihospital.security.crypto import FieldCipher

HOLD_MINUTES = 15
REFUND_TOPIC = "booking.appointment_refund"
LINE_KIND = "registration"
SUBJECT_TYPE = "appointment"


async def bill_registration(
    session: AsyncSession, actor: Actor, *, appointment: Appointment, schedule: ScheduleSession
) -> None:
    """Bill the session's fee for a just-made ``pending_payment`` appointment; its hold ends
    when the order expires. A vaccination or check-up is billed by its name."""
    description = "挂号费"  # shown on the bill as written
    if schedule.resource_id is not None:
        description = (await session.get_one(BookingResource, schedule.resource_id)).name
    order = await create_order(
        session,
        actor,
        patient_id=appointment.patient_id,
        institution_id=schedule.institution_id,
        lines=[
            LineItem(
                kind=LINE_KIND,
                subject_type=SUBJECT_TYPE,
                subject_id=str(appointment.id),
                description=description,
                unit_price_fen=schedule.fee_fen,
            )
        ],
        hold_minutes=HOLD_MINUTES,
        idempotency_key=f"booking.appointment:{appointment.id}:registration",
    )
    appointment.order_id = order.id
    appointment.hold_expires_at = order.expires_at
    await session.flush()


def registered_appointments(payload: dict[str, Any]) -> list[int]:
    """The appointments whose registration fee a billing event's order holds."""
    return billed_subjects(payload, kind=LINE_KIND, subject_type=SUBJECT_TYPE)


async def confirm_paid(
    session: AsyncSession, actor: Actor, *, appointment_id: int, order_id: int
) -> None:
    """The fee was paid: a held appointment is confirmed. One cancelled meanwhile (by the
    patient or by 停诊) is refunded instead. Idempotent."""
    appointment = await session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if appointment is None or appointment.order_id != order_id:
        return
    if appointment.status == "pending_payment":
        appointment.status = "confirmed"
        appointment.hold_expires_at = None
        await session.flush()
        await record(
            session,
            actor,
            action="booking.appointment.paid",
            subject_type="appointment",
            subject_id=appointment.id,
            patient_id=appointment.patient_id,
            details={"order_id": order_id},
        )
    elif appointment.status == "cancelled":
        await refund_later(session, actor, appointment=appointment)


async def refund_later(session: AsyncSession, actor: Actor, *, appointment: Appointment) -> None:
    """Have the registration fee of a paid, now cancelled appointment refunded after commit
    (once per appointment)."""
    if appointment.order_id is None:
        return
    await emit(
        session,
        actor,
        topic=REFUND_TOPIC,
        payload={"appointment_id": appointment.id, "order_id": appointment.order_id},
        dedupe_key=f"{REFUND_TOPIC}:{appointment.id}",
    )


async def refund_registration(
    session: AsyncSession,
    actor: Actor,
    *,
    appointment_id: int,
    order_id: int,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> None:
    """Refund what is left of the fee of a cancelled appointment, acting as the system for the
    institution (outbox handler; the idempotency key makes a retry return the same refund)."""
    await refund_the_rest(
        session,
        actor,
        order_id=order_id,
        idempotency_key=f"booking.appointment:{appointment_id}:refund",
        platform=platform,
        cipher=cipher,
        note="预约已取消",  # stored for the institution's finance staff, in its language
    )
