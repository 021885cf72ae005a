"""Real-name verification (实名认证) of a 就诊人 through the configured provider (R03).

Each answer is kept as a :class:`RealNameCheck`; the patient carries the current status:
``verified`` (name and ID number match), ``failed`` (they do not, with the reason), ``pending``
(the provider did not answer in time; retry later) or ``unverified`` (never asked).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.identity.models import Patient, RealNameCheck
from ihospital.identity.providers import MISMATCH_REASON, RealNameProvider, RealNameTimeout

REALNAME_STATUSES = ("unverified", "pending", "verified", "failed")
TIMEOUT_REASON = "The real-name service did not answer in time. Try again later."


async def verify_realname(
    session: AsyncSession,
    actor: Actor,
    *,
    patient: Patient,
    id_number: str,
    provider: RealNameProvider,
) -> RealNameCheck:
    """Ask the provider whether ``patient.name`` matches ``id_number``; record the answer (R03)."""
    now = actor.clock.now()
    try:
        answer = await provider.verify(name=patient.name, id_number=id_number)
    except RealNameTimeout:
        outcome, status, reference, reason = "timeout", "pending", "", TIMEOUT_REASON
    else:
        reference = answer.reference[:64]
        if answer.matched:
            outcome, status, reason = "matched", "verified", ""
        else:
            outcome, status = "mismatch", "failed"
            reason = (answer.reason or MISMATCH_REASON)[:256]
    check = RealNameCheck(
        patient_id=patient.id,
        provider=provider.name,
        outcome=outcome,
        reference=reference,
        reason=reason,
        checked_at=now,
    )
    session.add(check)
    patient.realname_status = status
    patient.realname_reason = reason
    patient.realname_verified_at = now if status == "verified" else None
    await session.flush()
    await record(
        session,
        actor,
        action="patient.realname_check",
        subject_type="patient",
        subject_id=patient.id,
        patient_id=patient.id,
        details={"outcome": outcome, "provider": provider.name, "reference": reference},
    )
    return check
