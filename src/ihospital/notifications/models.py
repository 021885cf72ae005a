"""In-app inbox (站内信) and SMS deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ihospital.db import Base, BigId, IdMixin


class InboxMessage(IdMixin, Base):
    """站内信: a message in an account's in-app inbox.

    ``title`` and ``body`` are English message ids filled with ``fields`` (JSON) and translated
    when shown, so a message follows the reader's language. ``source_event_id`` (the outbox event
    that delivered it) makes delivery idempotent."""

    __tablename__ = "inbox_messages"
    __table_args__ = (Index("ix_inbox_messages_account_created", "account_id", "created_at"),)

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    fields: Mapped[str] = mapped_column(Text, default="{}")
    link: Mapped[str] = mapped_column(String(256), default="")
    source_event_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class SmsDelivery(IdMixin, Base):
    """An SMS handed to the sender; ``source_event_id`` makes a retried send idempotent."""

    __tablename__ = "sms_deliveries"

    mobile_masked: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    provider_reference: Mapped[str] = mapped_column(String(64), default="")
    source_event_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    sent_at: Mapped[datetime]
