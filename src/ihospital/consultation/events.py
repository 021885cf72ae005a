"""Transitions of a consultation, for supervision (R13) and other domains.

Every transition is one audit entry and one outbox event ``consultation.<transition>`` written in
the transaction that made it. The event's handler calls each subscriber in turn (a subscriber
registers with ``@subscribe(ACCEPTED)`` in its domain's ``tasks`` module and must be idempotent:
when one fails, the event is retried for all of them).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.outbox.service import Handler, emit

STARTED = "consultation.started"
PAID = "consultation.paid"
GUARDIAN_CONFIRMED = "consultation.guardian_confirmed"
ACCEPTED = "consultation.accepted"
DIAGNOSIS_CONFIRMED = "consultation.diagnosis_confirmed"
TRANSFERRED = "consultation.transferred"
CLOSED = "consultation.closed"
RECORD_SIGNED = "consultation.record_signed"
CANCELLED = "consultation.cancelled"
CALL_OFFERED = "consultation.call_offered"
CALL_CANCELLED = "consultation.call_cancelled"
CALL_STARTED = "consultation.call_started"
CALL_ENDED = "consultation.call_ended"
DOCTOR_VERIFIED = "consultation.doctor_verified"  # a doctor's working session began (R04)
TOPICS = (
    STARTED,
    PAID,
    GUARDIAN_CONFIRMED,
    ACCEPTED,
    DIAGNOSIS_CONFIRMED,
    TRANSFERRED,
    RECORD_SIGNED,
    CLOSED,
    CANCELLED,
    CALL_OFFERED,
    CALL_CANCELLED,
    CALL_STARTED,
    CALL_ENDED,
    DOCTOR_VERIFIED,
)

SUBSCRIBERS: dict[str, list[Handler]] = defaultdict(list)


def subscribe(topic: str):
    """Register ``async def f(session, actor, event_id, payload)`` for one of :data:`TOPICS`."""
    if topic not in TOPICS:
        raise ValueError(f"consultation publishes no event {topic!r}")

    def register(func: Handler) -> Handler:
        if func not in SUBSCRIBERS[topic]:
            SUBSCRIBERS[topic].append(func)
        return func

    return register


def is_diagnostic(consultation: Consultation) -> bool:
    """Diagnostic once the doctor confirmed the earlier offline diagnosis (R01); otherwise a
    health consultation (健康咨询): advice only, no diagnosis and no prescription."""
    return consultation.prior_confirmed_at is not None


async def transition(
    session: AsyncSession, actor: Actor, consultation: Consultation, *, topic: str, **details: Any
) -> None:
    """Audit the transition ``topic`` of ``consultation`` and publish it (R13)."""
    await session.flush()
    await record(
        session,
        actor,
        action=topic,
        subject_type="consultation",
        subject_id=consultation.id,
        patient_id=consultation.patient_id,
        details={"status": consultation.status, **details},
    )
    payload = {
        "topic": topic,
        "consultation_id": consultation.id,
        "account_id": consultation.account_id,
        "patient_id": consultation.patient_id,
        "practitioner_id": consultation.practitioner_id,
        "institution_id": consultation.institution_id,
        "consultation_type": consultation.consultation_type,
        "status": consultation.status,
        "diagnostic": is_diagnostic(consultation),
        "at": actor.clock.now().isoformat(),
        **details,
    }
    await emit(session, actor, topic=topic, payload=payload)


async def notify_subscribers(
    session: AsyncSession, actor: Actor, event_id: int, topic: str, payload: dict[str, Any]
) -> None:
    for subscriber in SUBSCRIBERS[topic]:
        await subscriber(session, actor, event_id, payload)
