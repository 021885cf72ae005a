"""Tables of booking fairness: where each booking came from, and the scalper flags (号贩子嫌疑)
raised for an institution to review."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

FLAG_REASONS = ("many_patients_one_doctor", "busy_device")
FLAG_STATUSES = ("open", "reviewed")
FLAG_OUTCOMES = ("legitimate", "scalping")


class BookingOrigin(IdMixin, Base):
    """The device an appointment was booked from: a keyed hash of client IP and user agent
    (never the IP itself), and the local ``day`` of booking, for counting per device."""

    __tablename__ = "booking_origins"
    __table_args__ = (
        Index("ix_booking_origins_device_day", "institution_id", "device_hash", "day"),
    )

    appointment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("booking_appointments.id"), unique=True
    )
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    device_hash: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]
    created_at: Mapped[datetime]


class BookingFlag(IdMixin, Base):
    """A suspicion of scalping for the institution: one account booking one doctor for many
    就诊人, or many bookings from one device. ``subject`` names who (``account:7:doctor:3``,
    ``device:<hash>``); one flag per institution, reason, subject and local ``day``, whose
    ``count`` follows the bookings of that day (a device's at each multiple of its threshold).
    The bookings themselves stand. A review records the ``outcome`` (``legitimate`` or
    ``scalping``) and the reviewer's ``review_note``."""

    __tablename__ = "booking_flags"
    __table_args__ = (
        CheckConstraint(
            "reason IN (" + ",".join(repr(r) for r in FLAG_REASONS) + ")", name="reason_known"
        ),
        CheckConstraint(
            "status IN (" + ",".join(repr(s) for s in FLAG_STATUSES) + ")", name="status_known"
        ),
        CheckConstraint("count > 0", name="count_positive"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN (" + ",".join(repr(o) for o in FLAG_OUTCOMES) + ")",
            name="outcome_known",
        ),
        UniqueConstraint("institution_id", "reason", "subject", "day"),
        Index("ix_booking_flags_institution_status", "institution_id", "status"),
    )

    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    reason: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(120))
    account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    practitioner_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("practitioners.id"))
    device_hash: Mapped[str | None] = mapped_column(String(64))
    count: Mapped[int]
    day: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="open")
    raised_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    outcome: Mapped[str | None] = mapped_column(String(16))
    review_note: Mapped[str | None] = mapped_column(String(500))
