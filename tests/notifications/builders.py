"""Builders of the notifications domain: inbox messages as the worker would deliver them."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.identity.models import Account
from ihospital.notifications.models import InboxMessage
from tests.conftest import START

_event_ids = itertools.count(10**9)


async def make_inbox_message(
    session: AsyncSession,
    *,
    account: Account,
    title: str = "Messages",
    body: str = "{count} unread",
    fields: dict[str, str] | None = None,
    kind: str = "system",
    link: str = "",
    created_at: datetime = START,
    read_at: datetime | None = None,
) -> InboxMessage:
    """A delivered 站内信 (title and body are message ids, translated when read)."""
    message = InboxMessage(
        account_id=account.id,
        kind=kind,
        title=title,
        body=body,
        fields=json.dumps(fields if fields is not None else {"count": "1"}),
        link=link,
        source_event_id=next(_event_ids),
        created_at=created_at,
        read_at=read_at,
    )
    session.add(message)
    await session.flush()
    return message
