"""Queries of medical records: a consultation's latest version (or that of several), the
diagnoses of versions, and which version replaced which."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.records.models import MedicalRecord, MedicalRecordDiagnosis


async def latest_record(session: AsyncSession, consultation_id: int) -> MedicalRecord | None:
    """The consultation's newest signed version, if any."""
    return await session.scalar(
        select(MedicalRecord)
        .where(MedicalRecord.consultation_id == consultation_id)
        .order_by(MedicalRecord.version.desc())
        .limit(1)
    )


async def latest_records(
    session: AsyncSession, consultation_ids: Sequence[int], *, patient_id: int, signed_by: int
) -> Sequence[MedicalRecord]:
    """The newest signed version of each of the consultations' records that the practitioner
    ``signed_by`` signed for the patient, in one query."""
    if not consultation_ids:
        return []
    newest = (
        select(MedicalRecord.consultation_id, func.max(MedicalRecord.version).label("version"))
        .where(MedicalRecord.consultation_id.in_(consultation_ids))
        .group_by(MedicalRecord.consultation_id)
        .subquery()
    )
    return (
        await session.scalars(
            select(MedicalRecord)
            .join(
                newest,
                (MedicalRecord.consultation_id == newest.c.consultation_id)
                & (MedicalRecord.version == newest.c.version),
            )
            .where(MedicalRecord.patient_id == patient_id, MedicalRecord.signed_by == signed_by)
        )
    ).all()


async def diagnoses_of(
    session: AsyncSession, records: Sequence[MedicalRecord]
) -> dict[int, list[MedicalRecordDiagnosis]]:
    """The diagnoses of each record, in the doctor's order."""
    found: dict[int, list[MedicalRecordDiagnosis]] = defaultdict(list)
    if records:
        rows = await session.scalars(
            select(MedicalRecordDiagnosis)
            .where(MedicalRecordDiagnosis.record_id.in_([r.id for r in records]))
            .order_by(MedicalRecordDiagnosis.record_id, MedicalRecordDiagnosis.position)
        )
        for row in rows:
            found[row.record_id].append(row)
    return found


async def successors_of(session: AsyncSession, records: Sequence[MedicalRecord]) -> dict[int, int]:
    """For each of ``records`` that was amended, the id of the version that replaced it."""
    if not records:
        return {}
    rows = await session.execute(
        select(MedicalRecord.previous_version_id, MedicalRecord.id).where(
            MedicalRecord.previous_version_id.in_([r.id for r in records])
        )
    )
    return {previous: successor for previous, successor in rows}


async def record_versions(session: AsyncSession, consultation_id: int) -> list[MedicalRecord]:
    """Every signed version of a consultation's record, oldest first (amendments included)."""
    return list(
        await session.scalars(
            select(MedicalRecord)
            .where(MedicalRecord.consultation_id == consultation_id)
            .order_by(MedicalRecord.version)
        )
    )


async def diagnosis_codes_by_version(session: AsyncSession, consultation_id: int) -> list[set[str]]:
    """The ICD-10 codes of each signed version of the consultation's record, oldest first."""
    rows = await session.execute(
        select(MedicalRecord.version, MedicalRecordDiagnosis.code)
        .join(MedicalRecordDiagnosis, MedicalRecordDiagnosis.record_id == MedicalRecord.id)
        .where(MedicalRecord.consultation_id == consultation_id)
        .order_by(MedicalRecord.version)
    )
    found: dict[int, set[str]] = defaultdict(set)
    for version, code in rows.all():
        found[version].add(code)
    return [found[version] for version in sorted(found)]
