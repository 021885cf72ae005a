"""Tables of online consultation: doctors' price lists and consultations.

A price is one doctor's fee for one type (图文 ``text``, 语音 ``voice``, 视频 ``video``) at one
institution where they give online services. A consultation is one 就诊人's online visit with one
doctor of one institution; it is diagnostic only once the doctor has confirmed the earlier offline
diagnosis the patient gave (R01), else it is a health consultation (健康咨询, advice only). A
partial unique index keeps one open consultation per 就诊人 and doctor, so a repeated start never
bills twice.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

TYPES = ("text", "voice", "video")  # 图文 / 语音 / 视频
STATUSES = ("awaiting_payment", "waiting", "in_progress", "closed", "cancelled")
OPEN_STATUSES = ("awaiting_payment", "waiting", "in_progress")
CLOSE_REASONS = ("doctor", "in_person", "inactivity")
CANCEL_REASONS = ("patient", "not_accepted", "unpaid")
OPEN = "status IN ('awaiting_payment','waiting','in_progress')"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(value) for value in values)})"


class ConsultationPrice(IdMixin, Base):
    """A doctor's fee (fen, 0 allowed) for one consultation type at one institution."""

    __tablename__ = "consultation_prices"
    __table_args__ = (
        CheckConstraint(_one_of("consultation_type", TYPES), name="type_known"),
        CheckConstraint("fee_fen >= 0", name="fee_not_negative"),
        Index(
            "uq_consultation_prices_doctor_institution_type",
            "practitioner_id",
            "institution_id",
            "consultation_type",
            unique=True,
        ),
    )

    practitioner_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"))
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    consultation_type: Mapped[str] = mapped_column(String(8))
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    updated_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    updated_at: Mapped[datetime]


class Consultation(IdMixin, Base):
    """问诊: a 就诊人 of ``account_id`` with a doctor at an institution.

    ``awaiting_payment`` (a fee, billing order ``order_id``) → ``waiting`` (since
    ``waiting_since``; the doctor accepts by ``accept_by``) → ``in_progress`` → ``closed``, or
    ``cancelled`` before it began. The patient's name, sex and age are kept as they were when it
    started. A child under 6 needs the guardian's presence confirmed (name, relationship and ID
    number, stored encrypted and shown masked) before a doctor accepts, and an accompanying
    doctor of paediatrics (``accompanying_practitioner_id``) before diagnosis or a record (R11);
    the earlier offline diagnosis (``prior_*``) makes it diagnostic once the doctor confirms it
    (``prior_confirmed_at``, R01) and the 就诊人's real name is verified (R03)."""

    __tablename__ = "consultations"
    __table_args__ = (
        CheckConstraint(_one_of("consultation_type", TYPES), name="type_known"),
        CheckConstraint(_one_of("status", STATUSES), name="status_known"),
        CheckConstraint("fee_fen >= 0", name="fee_not_negative"),
        CheckConstraint(
            "close_reason IS NULL OR " + _one_of("close_reason", CLOSE_REASONS),
            name="close_reason_known",
        ),
        CheckConstraint(
            "cancel_reason IS NULL OR " + _one_of("cancel_reason", CANCEL_REASONS),
            name="cancel_reason_known",
        ),
        CheckConstraint(
            "prior_confirmed_at IS NULL OR prior_diagnosis IS NOT NULL",
            name="confirmed_prior_given",
        ),
        Index(
            "uq_consultations_one_open_per_patient_doctor",
            "patient_id",
            "practitioner_id",
            unique=True,
            sqlite_where=text(OPEN),
            postgresql_where=text(OPEN),
        ),
        Index("ix_consultations_practitioner_status", "practitioner_id", "status"),
        Index("ix_consultations_account", "account_id"),
        Index("ix_consultations_institution_created", "institution_id", "created_at"),
    )

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    practitioner_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"))
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    consultation_type: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    complaint: Mapped[str] = mapped_column(Text)
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("billing_orders.id"))
    patient_name: Mapped[str] = mapped_column(String(64))
    patient_sex: Mapped[str] = mapped_column(String(8))
    patient_age: Mapped[int]
    patient_verified: Mapped[bool]
    prior_institution: Mapped[str | None] = mapped_column(String(128))
    prior_diagnosed_on: Mapped[date | None]
    prior_diagnosis: Mapped[str | None] = mapped_column(String(500))
    prior_confirmed_at: Mapped[datetime | None]
    guardian_required: Mapped[bool]
    guardian_name: Mapped[str | None] = mapped_column(String(64))
    guardian_relationship: Mapped[str | None] = mapped_column(String(16))
    guardian_id_number_cipher: Mapped[str | None] = mapped_column(String(128))
    guardian_id_number_masked: Mapped[str | None] = mapped_column(String(18))
    guardian_confirmed_at: Mapped[datetime | None]
    accompanying_practitioner_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("practitioners.id")
    )
    scheduled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    waiting_since: Mapped[datetime | None]
    accept_by: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(String(16))
    advice: Mapped[str | None] = mapped_column(Text)
    # 义诊: the campaign it is free in, and the doctor's day in it whose place it took
    campaign_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("consultation_campaigns.id"), index=True
    )
    campaign_day_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("consultation_campaign_days.id")
    )
    rated_at: Mapped[datetime | None]  # closed → rated: the patient reviewed it (评价)
