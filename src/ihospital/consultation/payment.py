"""The consultation fee (问诊费), through billing, as booking bills its registration fee.

A consultation with a fee creates a billing order (one ``consultation`` line naming it) held
unpaid for :data:`HOLD_MINUTES`; billing's events come back here (subscribers in
:mod:`ihospital.consultation.tasks`): paid puts the consultation in the doctor's queue; expired
or cancelled cancels it as ``unpaid``. A paid consultation cancelled before a doctor began it is
refunded by the system after commit (:data:`ihospital.consultation.states.REFUND_TOPIC`); the
unpaid bill of one cancelled otherwise is cancelled after commit
(:data:`ihospital.consultation.states.VOID_TOPIC`), and a payment that still arrives for it is
refunded (by billing, or by :func:`confirm_paid` when it was paid first).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.events import billed_subjects
from ihospital.billing.insurance.platform import InsurancePlatform
from ihospital.billing.orders import LineItem, create_order, finish_order, give_back_settlement
from ihospital.billing.refunds import refund_the_rest
from ihospital.billing.repository import lock_order
from ihospital.consultation.events import PAID, transition
from ihospital.consultation.models import Consultation
from ihospital.consultation.states import begin_waiting, cancel, locked_consultation, refund_later
from ihospital.core.context import Actor
from ihospital.security.crypto import FieldCipher

HOLD_MINUTES = 15
LINE_KIND = "consultation"
SUBJECT_TYPE = "consultation"
# shown on the bill as written
DESCRIPTIONS = {"text": "图文问诊", "voice": "语音问诊", "video": "视频问诊"}


async def bill_fee(session: AsyncSession, actor: Actor, *, consultation: Consultation) -> None:
    """Bill the fee of a just-started consultation; it waits for payment until the order
    expires. It is billed to the patient, not as an online follow-up for medical insurance: the
    earlier diagnosis the patient gives is confirmed by the doctor only after payment (R01)."""
    order = await create_order(
        session,
        actor,
        patient_id=consultation.patient_id,
        institution_id=consultation.institution_id,
        lines=[
            LineItem(
                kind=LINE_KIND,
                subject_type=SUBJECT_TYPE,
                subject_id=str(consultation.id),
                description=DESCRIPTIONS[consultation.consultation_type],
                unit_price_fen=consultation.fee_fen,
                # the patient pays the fee: insurance covers an online follow-up only once the
                # doctor has confirmed the earlier diagnosis (R01), which comes after payment
                online_follow_up=False,
            )
        ],
        hold_minutes=HOLD_MINUTES,
        idempotency_key=f"consultation:{consultation.id}:fee",
    )
    consultation.order_id = order.id
    await session.flush()


def billed_consultations(payload: dict[str, Any]) -> list[int]:
    """The consultations whose fee a billing event's order holds."""
    return billed_subjects(payload, kind=LINE_KIND, subject_type=SUBJECT_TYPE)


async def confirm_paid(
    session: AsyncSession, actor: Actor, *, consultation_id: int, order_id: int
) -> None:
    """The fee was paid: the consultation waits for its doctor. One cancelled meanwhile is
    refunded instead. Idempotent."""
    consultation = await locked_consultation(session, consultation_id)
    if consultation is None or consultation.order_id != order_id:
        return
    if consultation.status == "awaiting_payment":
        consultation.paid_at = actor.clock.now()
        await begin_waiting(session, actor, consultation)
        await transition(session, actor, consultation, topic=PAID, order_id=order_id)
    elif consultation.status == "cancelled" and consultation.paid_at is None:
        consultation.paid_at = actor.clock.now()
        await refund_later(session, actor, consultation=consultation)


async def release_unpaid(session: AsyncSession, actor: Actor, *, consultation_id: int) -> None:
    """The fee's order expired or was cancelled: a consultation still awaiting payment is
    cancelled as ``unpaid``. Idempotent."""
    consultation = await locked_consultation(session, consultation_id)
    if consultation is None or consultation.status != "awaiting_payment":
        return
    await cancel(session, actor, consultation, reason="unpaid")


async def refund_fee(
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_id: int,
    order_id: int,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> None:
    """Refund what is left of the fee of a cancelled consultation, acting as the system for the
    institution (outbox handler; the idempotency key makes a retry return the same refund)."""
    await refund_the_rest(
        session,
        actor,
        order_id=order_id,
        idempotency_key=f"consultation:{consultation_id}:refund",
        platform=platform,
        cipher=cipher,
        note="问诊已取消",  # stored for the institution's finance staff, in its language
    )


async def void_fee(
    session: AsyncSession,
    actor: Actor,
    *,
    order_id: int,
    platform: InsurancePlatform,
    cipher: FieldCipher,
) -> None:
    """Cancel the still unpaid bill of a cancelled consultation, as the system (outbox
    handler). A bill paid meanwhile is refunded by :func:`confirm_paid`. Idempotent."""
    order = await lock_order(session, order_id)
    if order.status != "pending":
        return
    await give_back_settlement(session, actor, order, platform=platform, cipher=cipher)
    await finish_order(session, actor, order, status="cancelled")
