"""API shapes of the inbox. Titles and bodies are translated into the reader's language."""

from __future__ import annotations

import json
from datetime import datetime

from ihospital.core.i18n import gettext
from ihospital.core.schemas import Schema
from ihospital.notifications.models import InboxMessage


class InboxMessageRead(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None
    is_read: bool

    @classmethod
    def from_message(cls, message: InboxMessage) -> InboxMessageRead:
        fields = json.loads(message.fields or "{}")
        return cls(
            id=message.id,
            kind=message.kind,
            title=gettext(message.title, **fields),
            body=gettext(message.body, **fields),
            link=message.link,
            created_at=message.created_at,
            read_at=message.read_at,
            is_read=message.read_at is not None,
        )


class InboxPage(Schema):
    items: list[InboxMessageRead]
    total: int
    unread: int
    page: int
    page_size: int


class MarkedAllRead(Schema):
    marked: int
