"""API shapes of a consultation's chat. System notices are translated into the reader's
language; times go out as UTC instants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.chat_store import NOTICE_MESSAGES, message_event, notice_fields
from ihospital.consultation.schemas import Id
from ihospital.core.i18n import gettext
from ihospital.core.schemas import Schema


class MessageCreate(Schema):
    """A message: text, a file the sender uploaded (``file_id``), or both."""

    text: str | None = None
    file_id: Id | None = None


class ReadReceipt(Schema):
    """The other side's messages up to this id have been read."""

    up_to: Id


class MarkedRead(Schema):
    marked: int


class MessageRead(Schema):
    id: int
    consultation_id: int
    sender_role: str
    kind: str
    text: str | None
    file_id: int | None
    duration_ms: int | None  # how long a voice message plays
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def from_message(cls, message: ConsultationMessage) -> MessageRead:
        return cls.from_event(message_event(message))

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> MessageRead:
        """From the untranslated shape of :func:`message_event` (stored or pushed live)."""
        text = event["text"]
        if event["kind"] == "system" and text is not None:
            key, fields = notice_fields(text)
            text = gettext(NOTICE_MESSAGES[key], **fields)
        return cls(
            id=event["id"],
            consultation_id=event["consultation_id"],
            sender_role=event["sender_role"],
            kind=event["kind"],
            text=text,
            file_id=event["file_id"],
            duration_ms=event.get("duration_ms"),
            created_at=event["created_at"],
            read_at=event["read_at"],
        )
