"""The regulator's JSON view of the reporting feed: lag, failures, rejected records and
re-queueing (regulators of their region, platform admins of all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission
from ihospital.supervision.reporting.overview import FeedOverview, feed_overview, requeue_record
from ihospital.supervision.reporting.schemas import FeedRead, RejectedRecordRead, RequeuedRead

router = APIRouter(prefix="/api/regulator/reporting-feed", tags=["supervision"])
Supervisor = Annotated[Actor, Depends(require(Permission.REPORTING_FEED))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def feed_read(overview: FeedOverview) -> FeedRead:
    state = overview.state
    return FeedRead(
        pending=overview.counts["pending"],
        delivered=overview.counts["delivered"],
        rejected=overview.counts["rejected"],
        oldest_pending_at=overview.oldest_pending_at,
        lag_seconds=overview.lag_seconds,
        last_success_at=state.last_success_at,
        last_error=state.last_error,
        last_error_at=state.last_error_at,
        next_attempt_at=state.next_attempt_at,
        rejected_records=[RejectedRecordRead.model_validate(r) for r in overview.rejected],
    )


@router.get("", response_model=FeedRead)
async def get_feed(session: DbSession, actor: Supervisor) -> FeedRead:
    """The feed's lag (age of the oldest undelivered record), its counts by status, the last
    success and error, and the rejected records with the platform's reasons."""
    return feed_read(await feed_overview(session, actor))


@router.post("/records/{record_id}/requeue", response_model=RequeuedRead)
async def requeue(record_id: RecordId, session: DbSession, actor: Supervisor) -> RequeuedRead:
    """Send a rejected record to the platform again."""
    found = await requeue_record(session, actor, record_id=record_id)
    return RequeuedRead.model_validate(found)
