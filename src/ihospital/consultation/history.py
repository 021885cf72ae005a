"""The patient's history with the doctor at the workstation: the same 就诊人's earlier
consultations with the doctor of the current one and the latest signed version of each one's
medical record.

Only the doctor the current consultation is assigned to reads it, and only what that 就诊人 had
with that doctor: never another doctor's consultations, never another patient's. The read is
audited (R13), the records through the records services. The queries are the same in number
whatever the length of the history.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.models import Consultation
from ihospital.consultation.records.reading import RecordView, latest_views
from ihospital.consultation.workstation import assigned_consultation
from ihospital.core.context import Actor

HISTORY_LIMIT = 50  # the newest earlier consultations shown


@dataclass(frozen=True)
class EarlierConsultation:
    """An earlier consultation with the doctor and the latest version of its signed record,
    if it has one."""

    consultation: Consultation
    record: RecordView | None


async def history_of(
    session: AsyncSession, actor: Actor, consultation: Consultation
) -> list[EarlierConsultation]:
    """The consultations of ``consultation``'s 就诊人 with its doctor that began before it, newest
    first, with their records (the read is audited). The caller has checked that ``actor`` is
    the doctor it is assigned to."""
    earlier = (
        await session.scalars(
            select(Consultation)
            .where(
                Consultation.patient_id == consultation.patient_id,
                Consultation.practitioner_id == consultation.practitioner_id,
                or_(
                    Consultation.created_at < consultation.created_at,
                    (Consultation.created_at == consultation.created_at)
                    & (Consultation.id < consultation.id),
                ),
            )
            .order_by(Consultation.created_at.desc(), Consultation.id.desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    await record(
        session,
        actor,
        action="consultation.history_read",
        subject_type="consultation",
        subject_id=consultation.id,
        patient_id=consultation.patient_id,
        details={"consultation_ids": [c.id for c in earlier]},
    )
    records = await latest_views(
        session,
        actor,
        consultation_ids=[c.id for c in earlier],
        patient_id=consultation.patient_id,
        signed_by=consultation.practitioner_id,
    )
    return [EarlierConsultation(c, records.get(c.id)) for c in earlier]


async def patient_history(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> list[EarlierConsultation]:
    """The earlier consultations of a consultation's 就诊人 with the doctor it is assigned to,
    newest first (the read is audited); another doctor's consultation is not found."""
    consultation = await assigned_consultation(session, actor, consultation_id, for_update=False)
    return await history_of(session, actor, consultation)
