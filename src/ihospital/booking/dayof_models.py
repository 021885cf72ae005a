"""Tables of the day of the visit: check-in (签到) and attendance of an appointment, and the
suspension of online booking after repeated no-shows (爽约).

A visit row exists once a patient has checked in or the visit has an outcome. Queue numbers are
unique per session, so two check-ins can never share a number whatever the concurrency.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

OUTCOMES = ("attended", "no_show")


class Visit(IdMixin, Base):
    """The day-of record of one appointment: ``checked_in_at`` and its ``queue_number`` in the
    session (order of check-in, from 1), and the ``outcome`` the doctor marked (or the system,
    for a no-show found after the session; then ``marked_by_account_id`` is empty)."""

    __tablename__ = "booking_visits"
    __table_args__ = (
        CheckConstraint(
            "outcome IS NULL OR outcome IN ('attended','no_show')", name="outcome_known"
        ),
        CheckConstraint(
            "(checked_in_at IS NULL) = (queue_number IS NULL)", name="queue_on_check_in"
        ),
        CheckConstraint("(outcome IS NULL) = (outcome_at IS NULL)", name="outcome_has_time"),
        UniqueConstraint("session_id", "queue_number"),
    )

    appointment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("booking_appointments.id"), unique=True
    )
    session_id: Mapped[int] = mapped_column(BigId, ForeignKey("booking_sessions.id"))
    checked_in_at: Mapped[datetime | None]
    queue_number: Mapped[int | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[datetime | None]
    marked_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))


class BookingSuspension(IdMixin, Base):
    """Online booking at ``institution_id`` refused for ``patient_id`` from ``starts_at`` until
    ``ends_at``, after ``no_show_count`` no-shows (the last one being ``appointment_id``). An
    institution admin may lift it early: ``lifted_at``, by whom and why."""

    __tablename__ = "booking_suspensions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("(lifted_at IS NULL) = (lift_reason IS NULL)", name="lift_has_reason"),
        Index("ix_booking_suspensions_patient", "patient_id", "institution_id", "ends_at"),
    )

    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    institution_id: Mapped[int] = mapped_column(BigId, ForeignKey("institutions.id"))
    appointment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("booking_appointments.id"), unique=True
    )
    no_show_count: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    lifted_at: Mapped[datetime | None]
    lifted_by_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    lift_reason: Mapped[str | None] = mapped_column(String(200))

    def running(self, now: datetime) -> bool:
        """Whether booking is refused at ``now``: begun, not ended, not lifted."""
        return self.starts_at <= now < self.ends_at and self.lifted_at is None
