import asyncio
from datetime import timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, select

from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.notifications.models import InboxMessage
from ihospital.outbox.models import OutboxEvent
from ihospital.outbox.service import (
    KeyedEvent,
    backoff,
    drain,
    emit,
    emit_keyed,
    handle_one,
    worker_service,
)
from tests.identity.builders import make_account
from tests.outbox.handlers import FLAKY, SLOW, WRITE_THEN_FAIL


def system(clock):
    return Actor.system(clock)


async def _reloaded(session, event_id):
    return await session.get(OutboxEvent, event_id, populate_existing=True)


async def _effects(session, event_id):
    return await session.scalar(
        select(func.count()).where(InboxMessage.source_event_id == event_id)
    )


async def test_event_exists_only_if_the_callers_transaction_commits(session, clock):
    async with session.begin_nested() as savepoint:
        await emit(session, system(clock), topic=SLOW, payload={"n": 1})
        await savepoint.rollback()
    assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0


async def test_same_dedupe_key_twice_returns_the_first_event(session, clock):
    first = await emit(session, system(clock), topic=SLOW, payload={}, dedupe_key="hold:7")
    second = await emit(session, system(clock), topic=SLOW, payload={}, dedupe_key="hold:7")
    assert second.id == first.id
    count = select(func.count()).where(OutboxEvent.dedupe_key == "hold:7")
    assert await session.scalar(count) == 1


async def test_racing_duplicate_dedupe_key_keeps_the_callers_transaction(databases):
    """Two transactions schedule the same timer at once: the second gets the first's event and
    still commits its own work."""
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    actor = system(Clock())
    try:

        async def second_caller():
            async with factory() as session, session.begin():
                own = await emit(session, actor, topic=SLOW, payload={"own": True})
                timer = await emit(session, actor, topic=SLOW, payload={}, dedupe_key="race")
                return own.id, timer.id

        async with factory() as session, session.begin():
            first = await emit(session, actor, topic=SLOW, payload={}, dedupe_key="race")
            racing = asyncio.create_task(second_caller())
            await asyncio.sleep(0.3)  # the second caller now waits on the first's write
        own_id, timer_id = await asyncio.wait_for(racing, 30)
        assert timer_id == first.id
        async with factory() as session:
            ids = set((await session.scalars(select(OutboxEvent.id))).all())
        assert ids == {first.id, own_id}
    finally:
        await engine.dispose()


def _keyed(clock, *keys: str) -> list[KeyedEvent]:
    return [KeyedEvent(SLOW, {"key": key}, clock.now(), key) for key in keys]


async def test_keyed_events_written_together_skip_the_keys_already_written(session, clock):
    first = await emit(session, system(clock), topic=SLOW, payload={}, dedupe_key="timer:1")
    await emit_keyed(session, system(clock), _keyed(clock, "timer:1", "timer:2", "timer:3"))
    await emit_keyed(session, system(clock), _keyed(clock, "timer:2", "timer:3"))
    rows = (await session.execute(select(OutboxEvent.dedupe_key, OutboxEvent.payload))).all()
    assert sorted(rows) == [
        ("timer:1", "{}"),
        ("timer:2", '{"key": "timer:2"}'),
        ("timer:3", '{"key": "timer:3"}'),
    ]
    assert first.dedupe_key == "timer:1"


async def test_keyed_events_racing_a_key_keep_the_callers_transaction(databases):
    """A transaction writes keyed events while another writes one of the keys: the others are
    written one by one, and the caller's own work still commits."""
    engine = make_engine(await databases.fresh())
    factory = make_sessionmaker(engine)
    clock = Clock()
    actor = system(clock)
    try:

        async def second_caller():
            async with factory() as session, session.begin():
                own = await emit(session, actor, topic=SLOW, payload={"own": True})
                await emit_keyed(session, actor, _keyed(clock, "race", "after-race"))
                return own.id

        async with factory() as session, session.begin():
            first = await emit(session, actor, topic=SLOW, payload={}, dedupe_key="race")
            racing = asyncio.create_task(second_caller())
            await asyncio.sleep(0.3)  # the second caller now waits on the first's write
        own_id = await asyncio.wait_for(racing, 30)
        async with factory() as session:
            rows = (await session.execute(select(OutboxEvent.id, OutboxEvent.dedupe_key))).all()
        assert sorted(key or "" for _, key in rows) == ["", "after-race", "race"]
        assert {first.id, own_id} < {row_id for row_id, _ in rows}
    finally:
        await engine.dispose()


async def test_event_due_later_is_a_timer(session, session_factory, clock):
    due = clock.now() + timedelta(hours=1)
    account = await make_account(session, clock=clock)
    payload = {"failures": 0, "account_id": account.id, "key": uuid4().hex}
    event = await emit(session, system(clock), topic=FLAKY, payload=payload, available_at=due)
    assert await handle_one(session_factory, clock, 8) is None
    clock.advance(timedelta(minutes=59, seconds=59))
    assert await handle_one(session_factory, clock, 8) is None
    clock.advance(timedelta(seconds=1))
    assert await handle_one(session_factory, clock, 8) == "done"
    done = await _reloaded(session, event.id)
    assert done.status == "done"
    assert done.processed_at == clock.now()


async def test_failures_back_off_exponentially_until_dead(session, session_factory, clock):
    account = await make_account(session, clock=clock)
    payload = {"failures": 99, "account_id": account.id, "key": uuid4().hex}
    event = await emit(session, system(clock), topic=FLAKY, payload=payload)

    assert await handle_one(session_factory, clock, 3) == "failed"
    failed = await _reloaded(session, event.id)
    assert (failed.status, failed.attempts) == ("pending", 1)
    assert failed.last_error == "RuntimeError: gateway down"
    assert failed.available_at == clock.now() + backoff(1) == clock.now() + timedelta(seconds=10)

    clock.advance(timedelta(seconds=9))
    assert await handle_one(session_factory, clock, 3) is None
    clock.advance(timedelta(seconds=1))
    assert await handle_one(session_factory, clock, 3) == "failed"
    assert (await _reloaded(session, event.id)).available_at == clock.now() + timedelta(seconds=20)

    clock.advance(timedelta(seconds=20))
    assert await handle_one(session_factory, clock, 3) == "dead"
    dead = await _reloaded(session, event.id)
    assert (dead.status, dead.attempts) == ("dead", 3)
    clock.advance(timedelta(days=1))
    assert await handle_one(session_factory, clock, 3) is None


def test_backoff_doubles_and_is_capped_at_an_hour():
    assert [backoff(n).total_seconds() for n in range(1, 5)] == [10, 20, 40, 80]
    assert backoff(30) == timedelta(hours=1)


async def test_retry_after_a_failure_succeeds_once(session, session_factory, clock):
    account = await make_account(session, clock=clock)
    event = await emit(
        session,
        system(clock),
        topic=FLAKY,
        payload={"failures": 1, "account_id": account.id, "key": uuid4().hex},
    )
    assert await handle_one(session_factory, clock, 8) == "failed"
    clock.advance(backoff(1))
    assert await handle_one(session_factory, clock, 8) == "done"
    done = await _reloaded(session, event.id)
    assert (done.status, done.attempts) == ("done", 1)
    assert await _effects(session, event.id) == 1


async def test_failed_handler_leaves_no_writes_but_records_the_attempt(
    session, session_factory, clock
):
    account = await make_account(session, clock=clock)
    event = await emit(
        session, system(clock), topic=WRITE_THEN_FAIL, payload={"account_id": account.id}
    )
    assert await handle_one(session_factory, clock, 8) == "failed"
    assert await _effects(session, event.id) == 0
    failed = await _reloaded(session, event.id)
    assert failed.attempts == 1
    assert failed.last_error == "RuntimeError: failed after writing"


async def test_topic_without_handler_is_retried_then_dead(session, session_factory, clock):
    event = await emit(session, system(clock), topic="nobody.listens", payload={})
    result = await drain(session_factory, clock, limit=10, max_attempts=1)
    assert (result.dead, result.handled) == (1, 1)
    dead = await _reloaded(session, event.id)
    assert dead.last_error == "LookupError: no handler for topic 'nobody.listens'"


async def test_drain_handles_due_events_oldest_first_up_to_the_limit(
    session, session_factory, clock
):
    account = await make_account(session, clock=clock)
    events = []
    for _ in range(3):
        payload = {"failures": 0, "account_id": account.id, "key": uuid4().hex}
        events.append(await emit(session, system(clock), topic=FLAKY, payload=payload))
        clock.advance(timedelta(seconds=1))
    result = await drain(session_factory, clock, limit=2)
    assert (result.done, result.handled) == (2, 2)
    statuses = [(await _reloaded(session, event.id)).status for event in events]
    assert statuses == ["done", "done", "pending"]


async def test_emit_refuses_a_malformed_topic_or_key(session, clock):
    with pytest.raises(ValueError, match="topic"):
        await emit(session, system(clock), topic="", payload={})
    with pytest.raises(ValueError, match="dedupe key"):
        await emit(session, system(clock), topic=SLOW, payload={}, dedupe_key="k" * 129)


def test_worker_service_outside_a_worker_is_a_lookup_error():
    with pytest.raises(LookupError, match="sms_sender"):
        worker_service("sms_sender")
