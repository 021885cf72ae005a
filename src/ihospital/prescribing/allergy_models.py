"""The structured allergy list of a 就诊人 (药物过敏史), recorded by a doctor.

An allergy is to an ingredient (``amoxicillin``) or to every drug of an ATC class prefix
(``J01C``, the penicillins), with the reaction seen. Prescribing refuses a drug that matches one
(see :mod:`ihospital.prescribing.checks`). Entries are never changed or deleted: the history of
what was recorded, by whom and when, stays traceable (R13).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin
from ihospital.prescribing.models import SUBJECT_KINDS, one_of


class PatientAllergy(IdMixin, Base):
    """One recorded allergy of the patient ``patient_id``."""

    __tablename__ = "patient_allergies"
    __table_args__ = (
        CheckConstraint(one_of("kind", SUBJECT_KINDS), name="kind_known"),
        Index("ix_patient_allergies_patient", "patient_id"),
    )

    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    reaction: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"))
    consultation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("consultations.id"))
    recorded_at: Mapped[datetime]
