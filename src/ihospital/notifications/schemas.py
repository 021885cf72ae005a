"""API shapes of the inbox. Titles and bodies are translated into the reader's language."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

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
        return cls.from_event(inbox_event(message))

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> InboxMessageRead:
        """From the untranslated shape of :func:`inbox_event` (stored or pushed live)."""
        fields = event["fields"]
        return cls(
            id=event["id"],
            kind=event["kind"],
            title=gettext(event["title"], **fields),
            body=gettext(event["body"], **fields),
            link=event["link"],
            created_at=event["created_at"],
            read_at=event["read_at"],
            is_read=event["read_at"] is not None,
        )


def inbox_event(message: InboxMessage) -> dict[str, Any]:
    """A message as JSON, untranslated (message ids and fields), as the live inbox carries it:
    each reader's connection translates it into that reader's language."""
    return {
        "id": message.id,
        "kind": message.kind,
        "title": message.title,
        "body": message.body,
        "fields": json.loads(message.fields or "{}"),
        "link": message.link,
        "created_at": message.created_at.isoformat(),
        "read_at": message.read_at.isoformat() if message.read_at else None,
    }


class InboxPage(Schema):
    items: list[InboxMessageRead]
    total: int
    unread: int
    page: int
    page_size: int


class MarkedAllRead(Schema):
    marked: int
