"""How many prescriptions each doctor signed in a period, for the supervision rule on a doctor
prescribing far above their peers (R13.6).

A prescription counts once: its first version (a version written after a rejection replaces it,
it is not another prescription) and not voided. A doctor's peers are the doctors of the same
primary department (诊疗科目) who signed prescriptions at institutions of the same region.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.directory.models import Institution, PracticeSite
from ihospital.prescribing.models import Prescription


async def peer_volumes(
    session: AsyncSession,
    *,
    prescriber_id: int,
    institution_id: int,
    since: datetime,
    until: datetime,
) -> dict[int, int]:
    """The count of prescriptions signed in [since, until) by the doctor and by each doctor of
    the same primary department at institutions of ``institution_id``'s region."""
    region = select(Institution.region_code).where(Institution.id == institution_id)
    department = select(PracticeSite.department_code).where(
        PracticeSite.practitioner_id == prescriber_id, PracticeSite.is_primary.is_(True)
    )
    rows = await session.execute(
        select(Prescription.prescriber_id, func.count(Prescription.id))
        .join(Institution, Institution.id == Prescription.institution_id)
        .join(
            PracticeSite,
            (PracticeSite.practitioner_id == Prescription.prescriber_id)
            & PracticeSite.is_primary.is_(True),
        )
        .where(
            Institution.region_code == region.scalar_subquery(),
            PracticeSite.department_code.in_(department),
            Prescription.previous_version_id.is_(None),
            Prescription.status != "voided",
            Prescription.issued_at >= since,
            Prescription.issued_at < until,
        )
        .group_by(Prescription.prescriber_id)
    )
    return {prescriber: count for prescriber, count in rows.all()}
