"""Outbox handler of pre-screening: a high-risk submission becomes the command centre's alert."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.notifications.tasks import worker_hub
from ihospital.outbox.service import handles
from ihospital.triage.prescreening.alerts import raise_alert
from ihospital.triage.prescreening.screening import ALERT_TOPIC


@handles(ALERT_TOPIC)
async def handle_alert_event(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    await raise_alert(session, actor, submission_id=payload["submission_id"], hub=worker_hub())
