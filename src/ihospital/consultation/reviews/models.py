"""The table of consultation reviews (评价).

One review per consultation (a unique constraint): 1–5 stars, tags of :data:`TAGS`, an optional
text stored already masked (phone numbers, ID numbers, e-mail addresses, the patient's name).
A review is ``published`` at once, or ``held`` when its text has words of the abusive list until
the institution approves (``published``) or rejects (``rejected``) it. The doctor replies once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

# 回复及时, 讲解清晰, 态度好, 专业, 耐心, 建议有用
TAGS = ("timely", "clear", "kind", "professional", "patient", "helpful")
REVIEW_STATUSES = ("published", "held", "rejected")
TAGS_COLUMN_LENGTH = 100


class ConsultationReview(IdMixin, Base):
    """The patient account's review of one closed consultation with its doctor."""

    __tablename__ = "consultation_reviews"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),
        CheckConstraint("status IN ('published','held','rejected')", name="status_known"),
        CheckConstraint("(reply IS NULL) = (replied_at IS NULL)", name="reply_with_time"),
        Index("ix_consultation_reviews_practitioner_status", "practitioner_id", "status"),
        Index("ix_consultation_reviews_institution_status", "institution_id", "status"),
        Index("ix_consultation_reviews_institution_created", "institution_id", "created_at"),
    )

    consultation_id: Mapped[int] = mapped_column(BigId, ForeignKey("consultations.id"), unique=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    practitioner_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"))
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    patient_name_masked: Mapped[str] = mapped_column(String(64))
    stars: Mapped[int] = mapped_column(SmallInteger)
    tags: Mapped[str] = mapped_column(String(TAGS_COLUMN_LENGTH))
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    held_words: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    moderated_at: Mapped[datetime | None]
    moderated_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in self.tags.split(",") if tag]
