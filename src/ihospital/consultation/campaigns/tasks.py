"""Outbox handlers of 义诊 campaigns: their events are published for supervision and other
domains (R13); nothing in consultation reacts to them, so the handler only marks them done."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.campaigns.service import TOPICS
from ihospital.core.context import Actor
from ihospital.outbox.service import handles


async def published(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """A campaign was created, changed or ended: kept in the outbox as published."""


for _topic in TOPICS:
    handles(_topic)(published)
