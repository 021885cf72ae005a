"""JSON routes of medical records: the ICD-10 search, the doctor's signing and amending, the
patient's and the doctor's reading, the signature check, and the patient's earlier
consultations and records with the doctor. There is no route that changes or
deletes a signed version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from ihospital.consultation.history import patient_history
from ihospital.consultation.records.diagnoses import search_diagnoses
from ihospital.consultation.records.reading import (
    RecordView,
    doctor_records,
    patient_records,
    verify_record,
)
from ihospital.consultation.records.schemas import (
    HistoryEntryRead,
    Icd10Read,
    RecordCreate,
    RecordRead,
    VerificationRead,
)
from ihospital.consultation.records.service import sign_record
from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["medical records"])

Patient = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
Reader = Annotated[Actor, Depends(require(Permission.ACCOUNT_SELF))]
ConsultationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/icd10")
async def icd10(
    session: DbSession,
    actor: Doctor,
    q: Annotated[str, Query(min_length=1, max_length=50)],
) -> list[Icd10Read]:
    """Up to 20 ICD-10 diagnoses by code prefix, Chinese or English name, or pinyin."""
    return [Icd10Read.model_validate(row) for row in await search_diagnoses(session, query=q)]


@router.post("/doctor/consultations/{consultation_id}/record", status_code=201)
async def sign(
    consultation_id: ConsultationId,
    body: RecordCreate,
    request: Request,
    session: DbSession,
    actor: Doctor,
) -> RecordRead:
    """Write and sign the record of a diagnostic consultation, or amend it (a new version)."""
    record, diagnoses = await sign_record(
        session,
        actor,
        consultation_id=consultation_id,
        content=body.content(),
        amends=body.amends,
        cipher=request.app.state.cipher,
    )
    return RecordRead.of(RecordView(record, diagnoses, None))


@router.get("/consultations/{consultation_id}/records")
async def own_records(
    consultation_id: ConsultationId, session: DbSession, actor: Patient
) -> list[RecordRead]:
    """Every signed version of the consultation's record, oldest first."""
    views = await patient_records(session, actor, consultation_id=consultation_id)
    return [RecordRead.of(view) for view in views]


@router.get("/doctor/consultations/{consultation_id}/records")
async def attended_records(
    consultation_id: ConsultationId, session: DbSession, actor: Doctor
) -> list[RecordRead]:
    """The consultation's record versions and this patient's earlier records signed by the
    doctor, newest first."""
    views = await doctor_records(session, actor, consultation_id=consultation_id)
    return [RecordRead.of(view) for view in views]


@router.get("/doctor/consultations/{consultation_id}/history")
async def attended_history(
    consultation_id: ConsultationId, session: DbSession, actor: Doctor
) -> list[HistoryEntryRead]:
    """The 就诊人's earlier consultations with the doctor, newest first, each with the latest
    version of its signed record."""
    entries = await patient_history(session, actor, consultation_id=consultation_id)
    return [HistoryEntryRead.of(entry) for entry in entries]


@router.get("/records/{record_id}/verify")
async def verify(record_id: RecordId, session: DbSession, actor: Reader) -> VerificationRead:
    """Check that a record version is unchanged and signed by its doctor."""
    return VerificationRead.of(await verify_record(session, actor, record_id=record_id))
