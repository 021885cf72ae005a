"""Reading medical records and checking their signatures.

The patient's account reads the records of its 就诊人's consultations; the doctor reads those of
a consultation assigned to them and, for the workstation, this patient's earlier records that
they signed themselves. Any other is not found. Every read is audited (R13).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.consultation.lifecycle import own_consultation
from ihospital.consultation.models import Consultation
from ihospital.consultation.records.diagnoses import Diagnosis
from ihospital.consultation.records.models import MedicalRecord, MedicalRecordDiagnosis
from ihospital.consultation.records.repository import (
    diagnoses_of,
    latest_records,
    successors_of,
)
from ihospital.consultation.records.service import signed_content
from ihospital.consultation.workstation import assigned_consultation
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner
from ihospital.errors import NotFound
from ihospital.security.permissions import Role
from ihospital.security.signing import ALGORITHM, canonical_json, sha256_hex, signing_key, verify


@dataclass(frozen=True)
class RecordView:
    """A signed version with its diagnoses and, once amended, the version that replaced it."""

    record: MedicalRecord
    diagnoses: list[Diagnosis]
    superseded_by_id: int | None


@dataclass(frozen=True)
class Verification:
    """Whether the stored content still hashes to ``content_sha256`` and the signature over it
    holds with the signer's public key."""

    record_id: int
    algorithm: str
    public_key: str
    content_intact: bool
    signature_valid: bool

    @property
    def valid(self) -> bool:
        return self.content_intact and self.signature_valid


def _diagnoses(rows: list[MedicalRecordDiagnosis]) -> list[Diagnosis]:
    return [Diagnosis(row.code, row.name) for row in rows]


async def _views(
    session: AsyncSession, actor: Actor, records: Sequence[MedicalRecord], *, patient_id: int
) -> list[RecordView]:
    diagnoses = await diagnoses_of(session, records)
    successors = await successors_of(session, records)
    await record(
        session,
        actor,
        action="consultation.records_read",
        subject_type="patient",
        subject_id=patient_id,
        patient_id=patient_id,
        details={"record_ids": [r.id for r in records]},
    )
    return [RecordView(r, _diagnoses(diagnoses[r.id]), successors.get(r.id)) for r in records]


async def patient_records(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> list[RecordView]:
    """Every signed version of the record of one of the account's consultations, oldest first
    (the read is audited)."""
    consultation = await own_consultation(session, actor, consultation_id)
    records = (
        await session.scalars(
            select(MedicalRecord)
            .where(MedicalRecord.consultation_id == consultation.id)
            .order_by(MedicalRecord.version)
        )
    ).all()
    return await _views(session, actor, records, patient_id=consultation.patient_id)


async def doctor_records(
    session: AsyncSession, actor: Actor, *, consultation_id: int
) -> list[RecordView]:
    """The versions of the record of a consultation assigned to the doctor and the patient's
    earlier records the doctor signed, newest first (the read is audited)."""
    consultation = await assigned_consultation(session, actor, consultation_id, for_update=False)
    records = (
        await session.scalars(
            select(MedicalRecord)
            .where(
                or_(
                    MedicalRecord.consultation_id == consultation.id,
                    (MedicalRecord.patient_id == consultation.patient_id)
                    & (MedicalRecord.signed_by == consultation.practitioner_id),
                )
            )
            .order_by(MedicalRecord.signed_at.desc(), MedicalRecord.id.desc())
        )
    ).all()
    return await _views(session, actor, records, patient_id=consultation.patient_id)


async def latest_views(
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_ids: Sequence[int],
    patient_id: int,
    signed_by: int,
) -> dict[int, RecordView]:
    """By consultation id, the latest version of each of the consultations' records that the
    practitioner ``signed_by`` signed for the patient (the read is audited). The caller has
    checked that ``actor`` may read them."""
    records = await latest_records(
        session, consultation_ids, patient_id=patient_id, signed_by=signed_by
    )
    if not records:
        return {}
    views = await _views(session, actor, records, patient_id=patient_id)
    return {view.record.consultation_id: view for view in views}


async def _may_read(session: AsyncSession, actor: Actor, medical_record: MedicalRecord) -> bool:
    consultation = await session.get(Consultation, medical_record.consultation_id)
    if consultation.account_id == actor.account_id:
        return True
    if actor.role != Role.DOCTOR:
        return False
    doctor = await own_practitioner(session, actor)
    return doctor.id in (consultation.practitioner_id, medical_record.signed_by)


async def check_record(session: AsyncSession, medical_record: MedicalRecord) -> Verification:
    """Recompute a record version's signed content and check its hash and signature (for the
    caller that has already checked the reader's access and audits the read)."""
    rows = (await diagnoses_of(session, [medical_record]))[medical_record.id]
    message = canonical_json(signed_content(medical_record, _diagnoses(rows)))
    key = await signing_key(session, key_id=medical_record.signing_key_id)
    return Verification(
        record_id=medical_record.id,
        algorithm=ALGORITHM,
        public_key=key.public_key,
        content_intact=sha256_hex(message) == medical_record.content_sha256,
        signature_valid=verify(key.public_key, message=message, signature=medical_record.signature),
    )


async def verify_record(session: AsyncSession, actor: Actor, *, record_id: int) -> Verification:
    """Check a record version's signature for its patient's account or its doctor (the check is
    audited); anyone else finds no such record."""
    medical_record = await session.get(MedicalRecord, record_id)
    if medical_record is None or not await _may_read(session, actor, medical_record):
        raise NotFound(
            "record.not_found", "Medical record {record_id} was not found.", record_id=record_id
        )
    verification = await check_record(session, medical_record)
    await record(
        session,
        actor,
        action="consultation.record_verified",
        subject_type="medical_record",
        subject_id=medical_record.id,
        patient_id=medical_record.patient_id,
        details={"valid": verification.valid},
    )
    return verification
