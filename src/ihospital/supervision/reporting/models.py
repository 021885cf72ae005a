"""The feed's tables: one row per standardised record, and the feed's own state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

PENDING, DELIVERED, REJECTED = "pending", "delivered", "rejected"
STATUSES = (PENDING, DELIVERED, REJECTED)


class ReportRecord(IdMixin, Base):
    """One standardised record for the provincial platform. ``idempotency_key`` is
    ``<kind>:<subject_id>:v<version>``, the same in every delivery, so the platform keeps it
    once; ``sequence`` orders the feed as the records were committed."""

    __tablename__ = "reporting_records"
    __table_args__ = (
        CheckConstraint("status IN ('pending','delivered','rejected')", name="status_known"),
        Index("ix_reporting_records_status_sequence", "status", "sequence"),
    )

    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    reject_code: Mapped[str | None] = mapped_column(String(32))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    requeued_at: Mapped[datetime | None]


class FeedState(Base):
    """The feed's one row: the next sequence number (its row lock orders the writers, so the
    sequence follows the commits), the pusher's backoff and its last success and error."""

    __tablename__ = "reporting_feed_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    next_sequence: Mapped[int] = mapped_column(BigInteger, default=1)
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None]
