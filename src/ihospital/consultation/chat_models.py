"""The messages of a consultation's chat (图文问诊的消息).

Every message is stored before it is delivered; ids grow in the order messages were committed
within a consultation (they are appended under a lock on the consultation's row). A message has
text, or an attached file (an image or a report the sender uploaded, or a voice clip, 语音消息,
``kind`` ``voice`` with how long it plays in ``duration_ms``), or both; a system notice
(``kind`` ``system``, sender ``system``) holds an English message id translated when read.
``read_at`` is when the other side read it (read receipts). Messages are kept (R12): there is no
delete path.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin

SENDER_ROLES = ("patient", "doctor", "system")
KINDS = ("text", "image", "file", "voice", "system")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(value) for value in values)})"


class ConsultationMessage(IdMixin, Base):
    """One message of a consultation, from the patient's account, the doctor or the system."""

    __tablename__ = "consultation_messages"
    __table_args__ = (
        CheckConstraint(_one_of("sender_role", SENDER_ROLES), name="sender_role_known"),
        CheckConstraint(_one_of("kind", KINDS), name="kind_known"),
        CheckConstraint("text IS NOT NULL OR file_id IS NOT NULL", name="has_content"),
        CheckConstraint(
            "(kind = 'voice') = (duration_ms IS NOT NULL AND file_id IS NOT NULL)",
            name="voice_has_duration",
        ),
        CheckConstraint(
            "(sender_role = 'system') = (sender_account_id IS NULL)", name="sender_matches_role"
        ),
        Index("ix_consultation_messages_consultation_id", "consultation_id", "id"),
    )

    consultation_id: Mapped[int] = mapped_column(BigId, ForeignKey("consultations.id"))
    sender_role: Mapped[str] = mapped_column(String(8))
    sender_account_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(8))
    text: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stored_files.id"))
    duration_ms: Mapped[int | None]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
