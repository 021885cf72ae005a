"""API shapes of the outbox's health view."""

from __future__ import annotations

from datetime import datetime

from ihospital.core.schemas import Schema


class DeadEventRead(Schema):
    id: int
    topic: str
    attempts: int
    last_error: str
    created_at: datetime
    available_at: datetime


class OutboxHealthRead(Schema):
    counts: dict[str, int]
    due: int
    scheduled: int
    retrying: int
    oldest_pending_age_seconds: float | None
    dead_events: list[DeadEventRead]
