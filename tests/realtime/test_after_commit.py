"""Publishing after commit: nothing leaves before the commit, nothing for what rolls back
(a whole transaction or a savepoint), everything in order once it commits."""

from __future__ import annotations

import asyncio

from ihospital.realtime.after_commit import publish_after_commit
from ihospital.realtime.hub import InProcessHub


async def _received(subscription, seconds: float = 0.2) -> list[int]:
    ids = []
    try:
        while True:
            ids.append((await asyncio.wait_for(anext(subscription), seconds))["id"])
    except TimeoutError:
        return ids


async def test_published_only_once_the_transaction_commits(session_factory):
    hub = InProcessHub()
    async with hub.subscribe("c") as subscription, session_factory() as session:
        for n in range(3):
            publish_after_commit(session, hub, "c", {"id": n})
        await session.flush()
        assert await _received(subscription) == []
        await session.commit()
        assert await _received(subscription) == [0, 1, 2]
        await session.commit()  # a later commit publishes nothing again
        assert await _received(subscription) == []


async def test_nothing_is_published_for_a_rollback(session_factory):
    hub = InProcessHub()
    async with hub.subscribe("c") as subscription, session_factory() as session:
        publish_after_commit(session, hub, "c", {"id": 1})
        await session.rollback()
        await session.commit()
        assert await _received(subscription) == []


async def test_a_rolled_back_savepoint_takes_its_publishes_with_it(session_factory):
    hub = InProcessHub()
    async with hub.subscribe("c") as subscription, session_factory() as session:
        publish_after_commit(session, hub, "c", {"id": 1})
        outer = await session.begin_nested()
        publish_after_commit(session, hub, "c", {"id": 2})
        async with session.begin_nested():
            publish_after_commit(session, hub, "c", {"id": 3})  # released, then undone with outer
        await outer.rollback()
        async with session.begin_nested():
            publish_after_commit(session, hub, "c", {"id": 4})  # released and kept
        await session.commit()
        assert await _received(subscription) == [1, 4]
