"""Tables of epidemic pre-screening: questionnaire versions, fever clinics, the answers patients
submit and the command centre's alerts.

A questionnaire is identified by its ``key``; each change is a new ``version`` (the old one is
retired, never edited), so every submission keeps the exact questions it answered. At most one
version of a key is published at a time (a unique index backs the rule).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

QUESTIONNAIRE_STATUSES = ("published", "retired")
LEVELS = ("low", "medium", "high")
ALERT_STATUSES = ("new", "contacted", "closed")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class ScreeningQuestionnaire(IdMixin, Base):
    """One version of a questionnaire: its ``definition`` (questions, scoring and levels as JSON,
    see :mod:`ihospital.triage.prescreening.definition`), who published it and when it retired."""

    __tablename__ = "screening_questionnaires"
    __table_args__ = (
        CheckConstraint(_one_of("status", QUESTIONNAIRE_STATUSES), name="status_known"),
        CheckConstraint("version > 0", name="version_positive"),
        UniqueConstraint("key", "version"),
        Index(
            "uq_screening_questionnaires_one_published",
            "key",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
    )

    key: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(128))
    definition: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    published_at: Mapped[datetime]
    published_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    retired_at: Mapped[datetime | None]


class ScreeningQuestionnaireDraft(IdMixin, Base):
    """The next version of a questionnaire while an admin builds it, over as many requests as
    needed: its ``document`` (the editor's fields as JSON, possibly incomplete, see
    :mod:`ihospital.triage.prescreening.drafting`) and a ``revision`` counted up by each save, so
    two editors cannot overwrite each other unseen. Publishing turns it into a version and
    removes it."""

    __tablename__ = "screening_questionnaire_drafts"
    __table_args__ = (CheckConstraint("revision > 0", name="revision_positive"),)

    key: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(300))
    document: Mapped[str] = mapped_column(Text)
    revision: Mapped[int]
    based_on_questionnaire_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("screening_questionnaires.id")
    )
    created_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    updated_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FeverClinic(IdMixin, Base):
    """发热门诊 of an institution, where a patient at risk is sent: address and opening hours."""

    __tablename__ = "fever_clinics"

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(256))
    hours: Mapped[str] = mapped_column(String(128))
    phone: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class ScreeningSubmission(IdMixin, Base):
    """The answers one 就诊人 gave to one questionnaire version, where they are
    (``region_code``), and the ``score`` and ``level`` they came to. Health data: read only through
    the service, which checks the reader and audits the read."""

    __tablename__ = "screening_submissions"
    __table_args__ = (
        CheckConstraint(_one_of("level", LEVELS), name="level_known"),
        Index("ix_screening_submissions_patient", "patient_id", "created_at"),
    )

    questionnaire_id: Mapped[int] = mapped_column(BigId, ForeignKey("screening_questionnaires.id"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    region_code: Mapped[str] = mapped_column(String(6))
    answers: Mapped[str] = mapped_column(Text)
    score: Mapped[int]
    level: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]


class EpidemicAlert(IdMixin, Base):
    """A high-risk submission on the command centre's board, once (``submission_id`` is unique),
    and how it was handled: ``new`` → ``contacted`` → ``closed`` with a note."""

    __tablename__ = "epidemic_alerts"
    __table_args__ = (
        CheckConstraint(_one_of("status", ALERT_STATUSES), name="status_known"),
        CheckConstraint("status <> 'closed' OR note <> ''", name="closed_has_note"),
        Index("ix_epidemic_alerts_region_status", "region_code", "status"),
    )

    submission_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("screening_submissions.id"), unique=True
    )
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    region_code: Mapped[str] = mapped_column(String(6))
    level: Mapped[str] = mapped_column(String(8))
    score: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="new")
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
    handled_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
