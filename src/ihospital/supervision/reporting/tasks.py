"""Outbox handlers of the reporting feed.

Subscribers of the consultation and prescribing events append the standardised record of what
happened, in the event's transaction; ``reporting.push`` sends a batch and sets the next push
(at once while more records wait, at the backoff's moment after a failure); the
``reporting.tick`` timer pushes every few minutes whatever else happens, so records re-queued
or left by a lost timer still go (R13).

Supervision's alerts join the feed the same way: each step of an alert's lifecycle (raised,
acknowledged, resolved) appends the next version of its ``alert`` record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.consultation import events as consultation_events
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.outbox.service import emit, handles, worker_service
from ihospital.prescribing import events as prescribing_events
from ihospital.prescribing.review import APPROVED, REJECTED
from ihospital.prescribing.service import SIGNED, VOIDED
from ihospital.supervision import alert_events
from ihospital.supervision.reporting.documents import (
    Standardised,
    alert_document,
    consultation_document,
    medical_record_document,
    prescription_document,
    review_document,
)
from ihospital.supervision.reporting.feed import PUSH, append_record, grid_slot, schedule_push
from ihospital.supervision.reporting.pusher import PushResult, push_batch, record_failure

TICK = "reporting.tick"
CONSULTATION_TOPICS = (
    consultation_events.ACCEPTED,
    consultation_events.TRANSFERRED,
    consultation_events.CLOSED,
    consultation_events.CANCELLED,
)
Build = Callable[[AsyncSession, dict[str, Any]], Awaitable[Standardised]]


def _reporter(build: Build):
    async def report(
        session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
    ) -> None:
        document = await build(session, payload)
        await append_record(session, actor, document=document, event=payload["topic"])

    return report


async def _consultation(session: AsyncSession, payload: dict[str, Any]) -> Standardised:
    document = await consultation_document(session, payload["consultation_id"])
    document.body["status"] = payload["status"]  # as it was when the event happened
    return document


async def _record(session: AsyncSession, payload: dict[str, Any]) -> Standardised:
    return await medical_record_document(session, payload["record_id"])


async def _prescription(session: AsyncSession, payload: dict[str, Any]) -> Standardised:
    return await prescription_document(session, payload["prescription_id"])


async def _review(session: AsyncSession, payload: dict[str, Any]) -> Standardised:
    return await review_document(session, payload["prescription_id"])


for _topic in CONSULTATION_TOPICS:
    consultation_events.subscribe(_topic)(_reporter(_consultation))
consultation_events.subscribe(consultation_events.RECORD_SIGNED)(_reporter(_record))
for _topic in (SIGNED, VOIDED):
    prescribing_events.subscribe(_topic)(_reporter(_prescription))
for _topic in (APPROVED, REJECTED):
    prescribing_events.subscribe(_topic)(_reporter(_review))


async def _alert(session: AsyncSession, payload: dict[str, Any]) -> Standardised:
    document = await alert_document(session, payload["alert_id"])
    document.body["status"] = payload["status"]  # as it was when the event happened
    return document


for _topic in alert_events.TOPICS:
    alert_events.subscribe(_topic)(_reporter(_alert))


async def push_and_follow(session: AsyncSession, actor: Actor) -> PushResult:
    """Push one batch with the worker's platform and set the push that follows it."""
    try:
        platform = worker_service("provincial_platform")
        batch = worker_service("settings").reporting_batch
    except LookupError as missing:
        # a worker started without the platform: the regulator sees it as the feed's error
        retry_at = await record_failure(session, actor, str(missing))
        result = PushResult("failed", retry_at=retry_at)
    else:
        result = await push_batch(session, actor, platform=platform, batch=batch)
    if result.more_after is not None:
        await schedule_push(
            session, actor, at=actor.clock.now(), reason=f"after:{result.more_after}"
        )
    elif result.retry_at is not None:
        await schedule_push(session, actor, at=result.retry_at)
    return result


@handles(PUSH)
async def push(session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]) -> None:
    await push_and_follow(session, actor)


async def schedule_tick(session: AsyncSession, actor: Actor, *, every_minutes: int) -> None:
    """Set the next tick on the grid (once per grid moment, whoever sets it)."""
    at = grid_slot(actor.clock.now(), timedelta(minutes=every_minutes))
    await emit(
        session,
        actor,
        topic=TICK,
        payload={},
        available_at=at,
        dedupe_key=f"{TICK}:{at.isoformat()}",
    )


@handles(TICK)
async def tick(session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]) -> None:
    await push_and_follow(session, actor)
    await schedule_tick(
        session, actor, every_minutes=worker_service("settings").reporting_tick_minutes
    )


async def start_reporting_tick(
    factory: async_sessionmaker[AsyncSession], clock: Clock, *, every_minutes: int
) -> None:
    """Set the next tick if it is not set yet (workers call this as they start)."""
    async with factory() as session:
        await schedule_tick(session, Actor.system(clock), every_minutes=every_minutes)
        await session.commit()
