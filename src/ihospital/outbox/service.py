"""Writing to the outbox and draining it.

Each event is handled in its own transaction that also marks it done, so a handler's database
effects and the "done" mark commit together: a worker killed mid-batch leaves its current event
pending (the transaction rolls back, the row lock is released) and the next worker handles it
once. On PostgreSQL several workers share the table with ``FOR UPDATE SKIP LOCKED``; on SQLite
the single writer serialises them. A failing handler's writes are rolled back to a savepoint
while the attempt is recorded; the event is retried with exponential backoff and set aside as
``dead`` after ``max_attempts``. Handlers that reach outside the process receive the event id as
idempotency key.

Topics are named ``<domain>.<what happened or what to do>``, e.g. ``notifications.inbox``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.outbox.models import OutboxEvent

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Actor, int, dict[str, Any]], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}
TASK_MODULES = (
    "ihospital.notifications.tasks",
    "ihospital.billing.tasks",
    "ihospital.billing.reconciliation_tasks",
    "ihospital.booking.tasks",
    "ihospital.booking.dayof_tasks",
    "ihospital.consultation.tasks",
    "ihospital.consultation.reviews.tasks",
    "ihospital.pharmacy.shipment_tasks",
    "ihospital.prescribing.tasks",
    "ihospital.pharmacy.tasks",
    "ihospital.triage.prescreening.tasks",
    "ihospital.supervision.tasks",
    "ihospital.supervision.volume_tasks",
    "ihospital.supervision.visit_tasks",
    "ihospital.supervision.sweep_tasks",
    "ihospital.supervision.reporting.tasks",
)
HANDLER_TIMEOUT_SECONDS = 300.0
STATUSES = ("pending", "done", "dead")

_services: ContextVar[Mapping[str, Any] | None] = ContextVar("outbox_services", default=None)
_wakers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
_EMITTED = "outbox_emitted"


def handles(topic: str) -> Callable[[Handler], Handler]:
    """Register the handler of a topic: ``async def f(session, actor, event_id, payload)``.

    A handler may run more than once for one event only if its transaction did not commit, so
    its database writes are exactly-once; calls leaving the process pass ``event_id`` as the
    idempotency key."""

    def register(func: Handler) -> Handler:
        if topic in HANDLERS and HANDLERS[topic] is not func:
            raise ValueError(f"two handlers for outbox topic {topic!r}")
        HANDLERS[topic] = func
        return func

    return register


def load_handlers(extra_modules: list[str] | None = None) -> None:
    """Import every module holding handlers (the domains' and ``settings.worker_modules``)."""
    for module in (*TASK_MODULES, *(extra_modules or [])):
        importlib.import_module(module)


def worker_service(name: str) -> Any:
    """A service the running worker was given (``settings``, ``sms_sender`` …), for handlers."""
    try:
        return (_services.get() or {})[name]
    except KeyError:
        raise LookupError(f"the outbox worker was not given the service {name!r}") from None


async def _by_dedupe_key(session: AsyncSession, dedupe_key: str) -> OutboxEvent | None:
    return await session.scalar(select(OutboxEvent).where(OutboxEvent.dedupe_key == dedupe_key))


def _event_row(
    actor: Actor,
    topic: str,
    payload: dict[str, Any],
    available_at: datetime | None,
    dedupe_key: str | None,
) -> dict[str, Any]:
    """The columns of a new pending event."""
    if not topic or len(topic) > 64:
        raise ValueError("an outbox topic is 1 to 64 characters")
    if dedupe_key is not None and not 0 < len(dedupe_key) <= 128:
        raise ValueError("an outbox dedupe key is 1 to 128 characters")
    now = actor.clock.now()
    return {
        "topic": topic,
        "payload": json.dumps(payload, ensure_ascii=False, default=str),
        "status": "pending",
        "attempts": 0,
        "available_at": available_at or now,
        "created_at": now,
        "last_error": "",
        "dedupe_key": dedupe_key,
    }


@dataclass(frozen=True)
class KeyedEvent:
    """An event for :func:`emit_keyed`: its topic, payload, moment and dedupe key."""

    topic: str
    payload: dict[str, Any]
    available_at: datetime
    dedupe_key: str


async def emit_keyed(session: AsyncSession, actor: Actor, events: Sequence[KeyedEvent]) -> None:
    """Write several events with dedupe keys as :func:`emit` writes each, in one INSERT that
    skips a key already written (by this transaction or a concurrent one, whose commit it
    waits for): events for a new appointment or move have new keys, so the keys are not
    looked up first."""
    rows = [
        _event_row(actor, event.topic, event.payload, event.available_at, event.dedupe_key)
        for event in events
    ]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(
        dialect.insert(OutboxEvent).on_conflict_do_nothing(index_elements=["dedupe_key"]), rows
    )
    session.info[_EMITTED] = True


async def emit(
    session: AsyncSession,
    actor: Actor,
    *,
    topic: str,
    payload: dict[str, Any],
    available_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> OutboxEvent:
    """Write an event in the caller's transaction; it is handled only if that commits.

    ``available_at`` in the future makes the event a durable timer. With a ``dedupe_key`` the
    event already written under that key (whatever its status) is returned instead of a second
    one: the key is looked up first and the insert runs in a savepoint, so a concurrent
    transaction that wins the race costs only that savepoint, never the caller's transaction.
    A key is never reused, so a timer that must fire again needs a new key.
    """
    event = OutboxEvent(**_event_row(actor, topic, payload, available_at, dedupe_key))
    if dedupe_key is not None:
        existing = await _by_dedupe_key(session, dedupe_key)
        if existing is not None:
            return existing
    if dedupe_key is None:
        session.add(event)
        await session.flush()
    else:
        try:
            async with session.begin_nested():
                session.add(event)
        except IntegrityError:
            existing = await _by_dedupe_key(session, dedupe_key)
            if existing is None:
                raise
            return existing
    session.info[_EMITTED] = True
    return event


@orm_event.listens_for(Session, "after_commit")
def _wake_local_workers(session: Session) -> None:
    """A commit that wrote events wakes the workers of this process at once (the demo, the
    in-app worker); workers elsewhere find them at their next poll."""
    if session.info.pop(_EMITTED, False):
        for loop, wake in list(_wakers):
            if not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)


@orm_event.listens_for(Session, "after_rollback")
def _forget_emitted(session: Session) -> None:
    session.info.pop(_EMITTED, None)


def backoff(attempts: int) -> timedelta:
    """Delay before retry number ``attempts``: 10, 20, 40 … seconds, at most one hour."""
    return timedelta(seconds=min(5 * 2**attempts, 3600))


@dataclass
class BatchResult:
    done: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.done + self.failed + self.dead


async def _claim(session: AsyncSession, now: datetime) -> OutboxEvent | None:
    query = (
        select(OutboxEvent)
        .where(OutboxEvent.status == "pending", OutboxEvent.available_at <= now)
        .order_by(OutboxEvent.available_at, OutboxEvent.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).first()


async def _dispatch(
    session: AsyncSession,
    clock: Clock,
    event: OutboxEvent,
    *,
    max_attempts: int,
    services: Mapping[str, Any],
    time_limit: float,
) -> str:
    event_id, topic, attempts = event.id, event.topic, event.attempts
    handler = HANDLERS.get(topic)
    actor = Actor.system(clock, request_id=f"outbox-{event_id}")
    token = _services.set(services)
    try:
        if handler is None:
            raise LookupError(f"no handler for topic {topic!r}")
        async with asyncio.timeout(time_limit), session.begin_nested():
            await handler(session, actor, event_id, json.loads(event.payload))
    except Exception as exc:
        # The savepoint is rolled back: none of the handler's writes remain, only the attempt.
        event.attempts = attempts + 1
        event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if event.attempts >= max_attempts:
            event.status = "dead"
            log.error("outbox event %s (%s) is dead: %s", event_id, topic, event.last_error)
            return "dead"
        event.available_at = clock.now() + backoff(event.attempts)
        log.warning("outbox event %s (%s) failed: %s", event_id, topic, event.last_error)
        return "failed"
    finally:
        _services.reset(token)
    event.status = "done"
    event.processed_at = clock.now()
    return "done"


async def handle_one(
    factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    max_attempts: int,
    *,
    services: Mapping[str, Any] | None = None,
    time_limit: float = HANDLER_TIMEOUT_SECONDS,
) -> str | None:
    """Claim and handle one due event. Returns 'done', 'failed', 'dead' or None when idle.
    A handler still running after ``time_limit`` seconds counts as a failed attempt."""
    async with factory() as session, session.begin():
        event = await _claim(session, clock.now())
        if event is None:
            return None
        return await _dispatch(
            session,
            clock,
            event,
            max_attempts=max_attempts,
            services=services or {},
            time_limit=time_limit,
        )


async def drain(
    factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    limit: int,
    max_attempts: int = 8,
    services: Mapping[str, Any] | None = None,
) -> BatchResult:
    """Handle up to ``limit`` due events, one transaction each."""
    result = BatchResult()
    while result.handled < limit:
        outcome = await handle_one(factory, clock, max_attempts, services=services)
        if outcome is None:
            break
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


async def _sleep_until(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def run_worker(
    factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    *,
    batch: int,
    poll_seconds: float,
    max_attempts: int,
    stop: asyncio.Event,
    services: Mapping[str, Any] | None = None,
    metrics: Any | None = None,
) -> None:
    """Drain the outbox until ``stop`` is set.

    While there is work it keeps going; when a batch comes back short it sleeps
    ``poll_seconds`` or until a commit in this process writes an event. After a failed batch
    (the database unreachable) the pause doubles, up to 30 seconds. ``metrics`` (the app's
    :class:`ihospital.core.observability.Metrics`) counts the outcomes.
    """
    wake = asyncio.Event()
    waker = (asyncio.get_running_loop(), wake)
    _wakers.add(waker)
    failures = 0
    try:
        while not stop.is_set():
            wake.clear()
            try:
                result = await drain(
                    factory, clock, limit=batch, max_attempts=max_attempts, services=services
                )
            except Exception:
                failures += 1
                log.exception("outbox worker batch failed")
                await _sleep_until(stop, asyncio.Event(), min(poll_seconds * 2**failures, 30.0))
                continue
            failures = 0
            if metrics is not None:
                for outcome in ("done", "failed", "dead"):
                    if count := getattr(result, outcome):
                        metrics.outbox_handled.labels(outcome).inc(count)
            if result.handled < batch:
                await _sleep_until(stop, wake, poll_seconds)
    finally:
        with contextlib.suppress(KeyError):
            _wakers.remove(waker)
