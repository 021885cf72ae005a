"""Outbox handlers for tests only. Worker subprocesses load this module through
``IHOSPITAL_WORKER_MODULES='["tests.outbox.handlers"]'``.

Each handler's effect is one ``inbox_messages`` row whose ``source_event_id`` is the event id,
written blindly: a second handling of the same event would hit the unique ``source_event_id``
and show up as a failed attempt, so "every event done, no attempt failed" means exactly once.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.notifications.models import InboxMessage
from ihospital.outbox.service import handles

SLOW = "test.slow_effect"
FLAKY = "test.flaky"
WRITE_THEN_FAIL = "test.write_then_fail"
STALL_VARIABLE = "OUTBOX_TEST_STALL_AT"  # the index of the event this process hangs on

calls: Counter[str] = Counter()


async def _write_effect(
    session: AsyncSession, actor: Actor, event_id: int, account_id: int
) -> None:
    session.add(
        InboxMessage(
            account_id=account_id,
            kind="test",
            title=str(os.getpid()),
            body="",
            fields="{}",
            link="",
            source_event_id=event_id,
            created_at=actor.clock.now(),
        )
    )
    await session.flush()


def _append(path: str, line: str) -> None:
    with Path(path).open("a") as trace:
        trace.write(line)


@handles(SLOW)
async def slow_effect(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """Notes in ``payload["trace"]`` that it started, hangs on the event whose index is in
    ``OUTBOX_TEST_STALL_AT`` (so a test can kill the process mid-event), sleeps, then writes."""
    if trace := payload.get("trace"):
        await asyncio.to_thread(_append, trace, f"{event_id} {os.getpid()}\n")
    if str(payload.get("index")) == os.environ.get(STALL_VARIABLE):
        await asyncio.sleep(3600)
    await asyncio.sleep(payload["seconds"])
    await _write_effect(session, actor, event_id, payload["account_id"])


@handles(FLAKY)
async def flaky(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    """Fails its first ``payload["failures"]`` calls for ``payload["key"]``, then writes."""
    calls[payload["key"]] += 1
    if calls[payload["key"]] <= payload["failures"]:
        raise RuntimeError("gateway down")
    await _write_effect(session, actor, event_id, payload["account_id"])


@handles(WRITE_THEN_FAIL)
async def write_then_fail(
    session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
) -> None:
    await _write_effect(session, actor, event_id, payload["account_id"])
    raise RuntimeError("failed after writing")
