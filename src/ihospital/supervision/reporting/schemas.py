"""API shapes of the regulator's view of the reporting feed."""

from __future__ import annotations

from datetime import datetime

from ihospital.core.schemas import Schema


class RejectedRecordRead(Schema):
    id: int
    sequence: int
    kind: str
    subject_id: int
    version: int
    idempotency_key: str
    institution_id: int
    attempts: int
    reject_code: str | None
    reject_reason: str | None
    rejected_at: datetime | None


class FeedRead(Schema):
    pending: int
    delivered: int
    rejected: int
    oldest_pending_at: datetime | None
    lag_seconds: float | None
    last_success_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    next_attempt_at: datetime | None
    rejected_records: list[RejectedRecordRead]


class RequeuedRead(Schema):
    id: int
    status: str
    requeued_at: datetime | None
