"""The doctor's working session (出诊会话) table: one row per identity verification (R04)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin


class DoctorWorkSession(IdMixin, Base):
    """A doctor verified their identity (password re-entered, licence on record verified) at
    ``verified_at``; they may act in consultations until ``expires_at`` or until they end the
    session (``ended_at``). The licence number it was tied to is kept as it was then; it serves
    only the signed-in session (``auth_session_id``) it was opened in, and ends with it."""

    __tablename__ = "doctor_work_sessions"
    __table_args__ = (
        Index("ix_doctor_work_sessions_practitioner", "practitioner_id", "expires_at"),
    )

    practitioner_id: Mapped[int] = mapped_column(BigId, ForeignKey("practitioners.id"))
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    auth_session_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("auth_sessions.id"), index=True
    )
    licence_number: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(16))
    verified_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
