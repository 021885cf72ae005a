"""Who read which decided prescriptions, from the audit log, for the supervision rule against
统方 (R09: gathering a doctor's prescribing figures, e.g. for a drug's sales).

A read counts when a staff account other than the prescriber opened a prescription already
decided by the pharmacist (``prescription.read`` after ``reviewed_at``): reviewing pending ones
is the pharmacist's work, reading one's own prescriptions the doctor's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.models import AuditEntry
from ihospital.directory.models import Practitioner
from ihospital.prescribing.models import Prescription

READ_ACTION = "prescription.read"


@dataclass(frozen=True)
class DecidedRead:
    account_id: int
    role: str
    institution_id: int
    prescriber_id: int
    prescription_id: int
    occurred_at: datetime


async def decided_reads(
    session: AsyncSession, *, since: datetime, until: datetime
) -> list[DecidedRead]:
    """Staff reads of decided prescriptions of other doctors in [since, until), oldest first."""
    rows = await session.execute(
        select(
            AuditEntry.actor_account_id,
            AuditEntry.actor_role,
            Prescription.institution_id,
            Prescription.prescriber_id,
            Prescription.id,
            AuditEntry.occurred_at,
        )
        .join(Prescription, cast(Prescription.id, String) == AuditEntry.subject_id)
        .join(Practitioner, Practitioner.id == Prescription.prescriber_id)
        .where(
            AuditEntry.action == READ_ACTION,
            AuditEntry.subject_type == "prescription",
            AuditEntry.occurred_at >= since,
            AuditEntry.occurred_at < until,
            AuditEntry.actor_account_id.is_not(None),
            AuditEntry.actor_account_id != Practitioner.account_id,
            AuditEntry.actor_role != "patient",
            Prescription.reviewed_at.is_not(None),
            Prescription.reviewed_at < AuditEntry.occurred_at,
        )
        .order_by(AuditEntry.occurred_at, AuditEntry.id)
    )
    return [DecidedRead(*row) for row in rows.all()]
