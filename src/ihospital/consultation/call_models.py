"""The video calls of a consultation (视频问诊的通话记录).

A call is recorded when the patient answers the doctor's call (both sides have agreed on the
media; the media itself never passes through the server) and ended when either side hangs up or
leaves the page. ``duration_seconds`` is kept with the end so that supervision reads it without
arithmetic. At most one call of a consultation is open at a time (a partial unique index).
Calls are kept with the consultation (R12): there is no delete path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

ENDED_BY = ("patient", "doctor", "system")
OPEN_CALL = "ended_at IS NULL"


class ConsultationCall(IdMixin, Base):
    """One video call of a consultation: from the answer to the hang-up."""

    __tablename__ = "consultation_calls"
    __table_args__ = (
        CheckConstraint(
            "ended_by IS NULL OR ended_by IN ('patient','doctor','system')",
            name="ended_by_known",
        ),
        CheckConstraint(
            "(ended_at IS NULL) = (duration_seconds IS NULL)"
            " AND (ended_at IS NULL) = (ended_by IS NULL)",
            name="ended_together",
        ),
        CheckConstraint(
            "duration_seconds IS NULL OR duration_seconds >= 0", name="duration_not_negative"
        ),
        Index("ix_consultation_calls_consultation_id", "consultation_id", "id"),
        Index(
            "uq_consultation_calls_one_open",
            "consultation_id",
            unique=True,
            sqlite_where=text(OPEN_CALL),
            postgresql_where=text(OPEN_CALL),
        ),
    )

    consultation_id: Mapped[int] = mapped_column(BigId, ForeignKey("consultations.id"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(8))
    duration_seconds: Mapped[int | None]


class ConsultationCallOffer(Base):
    """The doctor's offer of a call still to be answered (its SDP), kept so that the patient's
    page, reloaded while the call rings, still receives it and can answer. Signalling, not a
    record: the offer's audited transition is the record; the row goes when the call is
    answered, hung up or offered again."""

    __tablename__ = "consultation_call_offers"

    consultation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("consultations.id"), primary_key=True
    )
    sdp: Mapped[str] = mapped_column(Text)
    offered_at: Mapped[datetime]
