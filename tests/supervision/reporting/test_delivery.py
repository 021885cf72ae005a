"""Delivery of the feed to the provincial platform through the outbox: the platform down for
hours, answers lost, records rejected, a worker killed mid-batch, a restart, signatures."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import httpx
import pytest

from ihospital.app import create_app
from ihospital.core.context import Actor
from ihospital.outbox.runner import app_services
from ihospital.outbox.service import drain, load_handlers
from ihospital.supervision.reporting.feed import PROMPT_SECONDS
from ihospital.supervision.reporting.overview import requeue_record
from ihospital.supervision.reporting.platform import (
    SANDBOX_URL,
    HttpProvincialPlatform,
    Outgoing,
    PlatformUnavailable,
    make_provincial,
)
from ihospital.supervision.reporting.sandbox import Behaviour
from ihospital.supervision.reporting.tasks import TICK, start_reporting_tick
from tests.directory.builders import make_institution
from tests.prescribing.review_builders import events
from tests.supervision.reporting.builders import (
    LostAnswers,
    add_records,
    feed,
    feed_state,
    received_keys,
    run_worker,
)


async def test_records_wait_while_the_platform_is_down_then_arrive_once_in_order(
    session, session_factory, clock, settings
):
    provincial = make_provincial(settings, clock)
    await provincial.sandbox.down_for(timedelta(hours=3))
    institution = await make_institution(session, clock=clock)
    keys = [r.idempotency_key for r in await add_records(session, clock, institution, 3)]

    await run_worker(session_factory, clock, settings, provincial.platform)
    assert [(r.status, r.attempts) for r in await feed(session)] == [("pending", 1)] * 3
    state = await feed_state(session)
    assert state.failures == 1 and "HTTP 503" in state.last_error
    assert state.next_attempt_at == clock.now() + timedelta(seconds=10)
    await run_worker(session_factory, clock, settings, provincial.platform)  # before the backoff
    assert {r.attempts for r in await feed(session)} == {1}

    for _ in range(20):
        await run_worker(
            session_factory, clock, settings, provincial.platform, advance=timedelta(minutes=20)
        )
    assert await received_keys(provincial) == keys
    assert [r.status for r in await feed(session)] == ["delivered"] * 3
    state = await feed_state(session)
    assert state.failures == 0 and state.next_attempt_at is None and state.last_success_at


async def test_a_batch_whose_answer_was_lost_is_sent_again_and_kept_once(
    session, session_factory, clock, settings
):
    provincial = make_provincial(settings, clock)
    institution = await make_institution(session, clock=clock)
    keys = [r.idempotency_key for r in await add_records(session, clock, institution, 2)]

    await run_worker(session_factory, clock, settings, LostAnswers(provincial.platform))
    assert [r.status for r in await feed(session)] == ["pending", "pending"]
    assert await received_keys(provincial) == keys

    await run_worker(
        session_factory, clock, settings, provincial.platform, advance=timedelta(minutes=1)
    )
    assert [r.status for r in await feed(session)] == ["delivered", "delivered"]
    assert await received_keys(provincial) == keys


async def test_a_rejected_record_keeps_the_reason_and_goes_again_only_when_requeued(
    session, session_factory, clock, settings
):
    provincial = make_provincial(settings, clock)
    reason = "The institution is not filed with the platform."
    await provincial.sandbox.behave(
        Behaviour(reject_code="institution_unfiled", reject_reason=reason)
    )
    institution = await make_institution(session, clock=clock)
    [record] = await add_records(session, clock, institution, 1)

    await run_worker(session_factory, clock, settings, provincial.platform)
    [rejected] = await feed(session)
    assert (rejected.status, rejected.reject_code, rejected.reject_reason) == (
        "rejected",
        "institution_unfiled",
        reason,
    )
    await provincial.sandbox.behave(Behaviour())
    await run_worker(
        session_factory, clock, settings, provincial.platform, advance=timedelta(hours=2)
    )
    assert (await feed(session))[0].status == "rejected"  # not retried by itself
    assert await received_keys(provincial) == []

    admin = Actor(role="platform_admin", clock=clock, account_id=None)
    await requeue_record(session, admin, record_id=record.id)
    await session.commit()
    await run_worker(session_factory, clock, settings, provincial.platform)
    [delivered] = await feed(session)
    assert (delivered.status, delivered.reject_code, delivered.attempts) == ("delivered", None, 2)
    assert await received_keys(provincial) == [record.idempotency_key]


async def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    session, session_factory, clock, settings, monkeypatch
):
    provincial = make_provincial(settings, clock)
    await provincial.sandbox.behave(Behaviour(latency_seconds=3600))  # stores one, then stalls
    answered = asyncio.Event()
    answer_one = provincial.sandbox._one

    async def noted(record, behaviour):
        answer = await answer_one(record, behaviour)
        answered.set()
        return answer

    monkeypatch.setattr(provincial.sandbox, "_one", noted)
    institution = await make_institution(session, clock=clock)
    keys = [r.idempotency_key for r in await add_records(session, clock, institution, 3)]
    load_handlers()
    clock.advance(timedelta(seconds=PROMPT_SECONDS))
    services = {"settings": settings, "provincial_platform": provincial.platform}
    worker = asyncio.create_task(drain(session_factory, clock, limit=10, services=services))
    async with asyncio.timeout(30):
        await answered.wait()
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker
    assert await received_keys(provincial) == keys[:1]
    assert [(r.status, r.attempts) for r in await feed(session)] == [("pending", 0)] * 3

    await provincial.sandbox.behave(Behaviour())
    await run_worker(session_factory, clock, settings, provincial.platform)
    assert await received_keys(provincial) == keys
    assert [r.status for r in await feed(session)] == ["delivered"] * 3


async def test_a_new_app_instance_continues_the_feed(
    session, session_factory, clock, settings, engine
):
    settings = settings.model_copy(update={"reporting_batch": 2})
    first = create_app(settings, clock=clock, engine=engine)
    institution = await make_institution(session, clock=clock)
    keys = [r.idempotency_key for r in await add_records(session, clock, institution, 5)]
    load_handlers()
    clock.advance(timedelta(seconds=PROMPT_SECONDS))
    await drain(session_factory, clock, limit=1, services=app_services(first))
    assert [r.status for r in await feed(session)] == ["delivered"] * 2 + ["pending"] * 3

    restarted = create_app(settings, clock=clock, engine=engine)
    await drain(session_factory, clock, limit=10, services=app_services(restarted))
    assert [r.status for r in await feed(session)] == ["delivered"] * 5
    assert await received_keys(make_provincial(settings, clock)) == keys


async def test_the_platform_refuses_a_bad_signature_and_stores_nothing(
    session, session_factory, clock, settings
):
    provincial = make_provincial(settings, clock)
    forger = HttpProvincialPlatform(
        url=SANDBOX_URL,
        app_id=settings.provincial_app_id,
        secret="not-the-secret",
        clock=clock,
        timeout_seconds=5,
        transport=httpx.ASGITransport(app=provincial.sandbox.app),
    )
    institution = await make_institution(session, clock=clock)
    await add_records(session, clock, institution, 1)

    await run_worker(session_factory, clock, settings, forger)
    assert (await feed(session))[0].status == "pending"
    assert "HTTP 401" in (await feed_state(session)).last_error
    assert await received_keys(provincial) == []
    transport = httpx.ASGITransport(app=provincial.sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX_URL) as client:
        unsigned = await client.post("/records", json={"records": []})
    assert (unsigned.status_code, unsigned.json()) == (401, {"code": "unsigned"})


async def test_a_network_error_is_a_failure_to_retry(clock):
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    platform = HttpProvincialPlatform(
        url="https://platform.example",
        app_id="ihospital",
        secret="s",
        clock=clock,
        timeout_seconds=5,
        transport=httpx.MockTransport(unreachable),
    )
    with pytest.raises(PlatformUnavailable, match="ConnectError"):
        await platform.send([Outgoing("consultation:1:v1", 1, "consultation", "{}")])


async def test_the_sandbox_rejects_a_document_without_its_required_fields(clock, settings):
    provincial = make_provincial(settings, clock)
    document = '{"data": {"consultation_id": 1}}'
    [ack] = await provincial.platform.send(
        [Outgoing("consultation:1:v1", 1, "consultation", document)]
    )
    assert (ack.outcome, ack.code) == ("rejected", "missing_fields")
    assert "practitioner" in ack.reason


async def test_the_tick_pushes_and_sets_the_next_tick(session, session_factory, clock, settings):
    provincial = make_provincial(settings, clock)
    institution = await make_institution(session, clock=clock)
    [record] = await add_records(session, clock, institution, 1)
    await start_reporting_tick(session_factory, clock, every_minutes=5)
    await provincial.sandbox.down_for(timedelta(minutes=1))
    await run_worker(session_factory, clock, settings, provincial.platform)
    assert (await feed(session))[0].status == "pending"

    await run_worker(
        session_factory, clock, settings, provincial.platform, advance=timedelta(minutes=5)
    )
    assert await received_keys(provincial) == [record.idempotency_key]
    ticks = await events(session, TICK)
    assert sorted(e.status for e in ticks) == ["done", "pending"]
