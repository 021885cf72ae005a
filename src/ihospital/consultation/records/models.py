"""Tables of medical records (电子病历): the ICD-10 seed, signed record versions and their
diagnoses.

A record belongs to one diagnostic consultation and is signed by its doctor; it is never changed
or deleted (R12: kept at least 15 years). An amendment is a new version pointing at the one it
replaces (``previous_version_id``, one amendment per version), so the chain of a consultation's
versions is linear and every earlier version is kept. The database refuses UPDATE and DELETE of
both record tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin


class Icd10Code(Base):
    """A diagnosis of ICD-10 with its Chinese and English names and the pinyin of the Chinese
    name (full and initials) for search; seeded from ``consultation/data/icd10.csv``."""

    __tablename__ = "icd10_codes"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str] = mapped_column(String(256))
    name_pinyin: Mapped[str] = mapped_column(String(256), index=True)
    name_initials: Mapped[str] = mapped_column(String(64), index=True)


class MedicalRecord(IdMixin, Base):
    """One signed version of a consultation's record. ``content_sha256`` is the SHA-256 of the
    canonical JSON of the content that ``signature`` (Ed25519, key ``signing_key_id``) signs."""

    __tablename__ = "medical_records"
    __table_args__ = (
        UniqueConstraint("consultation_id", "version"),
        UniqueConstraint("previous_version_id"),
        Index("ix_medical_records_patient_signer", "patient_id", "signed_by"),
    )

    consultation_id: Mapped[int] = mapped_column(BigId, ForeignKey("consultations.id"))
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    version: Mapped[int]
    previous_version_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("medical_records.id"))
    chief_complaint: Mapped[str] = mapped_column(Text)
    present_illness: Mapped[str] = mapped_column(Text)
    past_history: Mapped[str] = mapped_column(Text)
    allergies: Mapped[str] = mapped_column(Text)
    advice: Mapped[str] = mapped_column(Text)
    signed_by: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"))
    signed_at: Mapped[datetime]
    content_sha256: Mapped[str] = mapped_column(String(64))
    signing_key_id: Mapped[int] = mapped_column(BigId, ForeignKey("signing_keys.id"))
    signature: Mapped[str] = mapped_column(String(128))


class MedicalRecordDiagnosis(Base):
    """A diagnosis of a record version, in the order the doctor gave them (the first is the
    main one); the code must be in the ICD-10 seed."""

    __tablename__ = "medical_record_diagnoses"

    record_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("medical_records.id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), ForeignKey("icd10_codes.code"))
    name: Mapped[str] = mapped_column(String(128))
