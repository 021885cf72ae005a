"""Outbox handlers of the notifications domain: deliver inbox messages (pushed live to open
inbox pages) and SMS."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.notifications.service import (
    INBOX_TOPIC,
    SMS_TOPIC,
    deliver_inbox_message,
    deliver_sms,
)
from ihospital.outbox.service import handles, worker_service
from ihospital.realtime.hub import Hub


@handles(INBOX_TOPIC)
async def handle_inbox(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    await deliver_inbox_message(
        session,
        actor,
        source_event_id=event_id,
        account_id=payload["account_id"],
        kind=payload["kind"],
        title=payload["title"],
        body=payload["body"],
        link=payload["link"],
        fields=payload["fields"],
        hub=worker_hub(),
    )


def worker_hub() -> Hub | None:
    """The worker's hub; a worker given none has no live inbox pages to reach."""
    try:
        return worker_service("realtime_hub")
    except LookupError:
        return None


@handles(SMS_TOPIC)
async def handle_sms(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    await deliver_sms(
        session,
        actor,
        source_event_id=event_id,
        account_id=payload["account_id"],
        kind=payload["kind"],
        text=payload["text"],
        fields=payload["fields"],
        sender=worker_service("sms_sender"),
    )
