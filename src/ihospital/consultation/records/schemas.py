"""API shapes of medical records, the ICD-10 search and the patient's history with the doctor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from ihospital.consultation.events import is_diagnostic
from ihospital.consultation.history import EarlierConsultation
from ihospital.consultation.records.diagnoses import MAX_DIAGNOSES
from ihospital.consultation.records.reading import RecordView, Verification
from ihospital.consultation.records.service import TEXT_LIMITS, RecordContent
from ihospital.core.schemas import Schema

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Code = Annotated[str, Field(min_length=1, max_length=8)]


class Icd10Read(Schema):
    code: str
    name_zh: str
    name_en: str


class DiagnosisIn(Schema):
    code: Code


class DiagnosisRead(Schema):
    code: str
    name: str


class RecordCreate(Schema):
    """The record the doctor signs; ``amends`` (the latest version's id) writes a new version
    replacing it. ``allergies`` is required: write ``无`` when there are none."""

    chief_complaint: Annotated[str, Field(min_length=1, max_length=TEXT_LIMITS["chief_complaint"])]
    present_illness: Annotated[str, Field(min_length=1, max_length=TEXT_LIMITS["present_illness"])]
    past_history: Annotated[str, Field(min_length=1, max_length=TEXT_LIMITS["past_history"])]
    allergies: Annotated[str, Field(min_length=1, max_length=TEXT_LIMITS["allergies"])]
    advice: Annotated[str, Field(min_length=1, max_length=TEXT_LIMITS["advice"])]
    diagnoses: Annotated[list[DiagnosisIn], Field(default_factory=list, max_length=MAX_DIAGNOSES)]
    amends: Id | None = None

    def content(self) -> RecordContent:
        return RecordContent(
            chief_complaint=self.chief_complaint,
            present_illness=self.present_illness,
            past_history=self.past_history,
            allergies=self.allergies,
            advice=self.advice,
            diagnosis_codes=tuple(d.code for d in self.diagnoses),
        )


class RecordRead(Schema):
    """One signed version; ``superseded_by_id`` names the amendment that replaced it."""

    id: int
    consultation_id: int
    patient_id: int
    version: int
    previous_version_id: int | None
    superseded_by_id: int | None
    chief_complaint: str
    present_illness: str
    past_history: str
    allergies: str
    diagnoses: list[DiagnosisRead]
    advice: str
    signed_by: int
    signed_at: datetime
    content_sha256: str
    signature: str

    @classmethod
    def of(cls, view: RecordView) -> RecordRead:
        fields = {
            name: getattr(view.record, name)
            for name in cls.model_fields
            if name not in ("diagnoses", "superseded_by_id")
        }
        return cls(
            **fields,
            diagnoses=[DiagnosisRead(code=d.code, name=d.name) for d in view.diagnoses],
            superseded_by_id=view.superseded_by_id,
        )


class VerificationRead(Schema):
    """``valid`` when the content is unchanged and the doctor's signature over it holds."""

    record_id: int
    valid: bool
    content_intact: bool
    signature_valid: bool
    algorithm: str
    public_key: str

    @classmethod
    def of(cls, verification: Verification) -> VerificationRead:
        return cls(
            record_id=verification.record_id,
            valid=verification.valid,
            content_intact=verification.content_intact,
            signature_valid=verification.signature_valid,
            algorithm=verification.algorithm,
            public_key=verification.public_key,
        )


class HistoryEntryRead(Schema):
    """An earlier consultation of the 就诊人 with the doctor: when, its type, status and kind,
    the complaint and earlier diagnosis the patient gave, the doctor's advice, and the latest
    version of its signed ``record`` with ``record_link`` to read it on its page."""

    consultation_id: int
    consultation_type: str
    status: str
    kind: Literal["diagnostic", "health_consultation"]
    created_at: datetime
    ended_at: datetime | None
    complaint: str
    prior_diagnosis: str | None
    advice: str | None
    record: RecordRead | None
    record_link: str | None

    @classmethod
    def of(cls, entry: EarlierConsultation) -> HistoryEntryRead:
        c = entry.consultation
        return cls(
            consultation_id=c.id,
            consultation_type=c.consultation_type,
            status=c.status,
            kind="diagnostic" if is_diagnostic(c) else "health_consultation",
            created_at=c.created_at,
            ended_at=c.ended_at,
            complaint=c.complaint,
            prior_diagnosis=c.prior_diagnosis,
            advice=c.advice,
            record=RecordRead.of(entry.record) if entry.record else None,
            record_link=f"/doctor/consultations/{c.id}#record" if entry.record else None,
        )
