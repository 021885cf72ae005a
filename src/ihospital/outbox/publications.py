"""Events a domain publishes for other domains, each delivered to its subscribers in turn.

The domain writes the event with :func:`~ihospital.outbox.service.emit` in the transaction of
the change; its ``tasks`` module calls :meth:`Publications.register_handlers`, so the worker
handles the event by calling every subscriber (registered with ``@publications.subscribe(topic)``
in the subscribing domain's ``tasks`` module). Subscribers must be idempotent: when one fails,
the event is retried for all of them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.outbox.service import Handler, handles


class Publications:
    def __init__(self, publisher: str, topics: tuple[str, ...]) -> None:
        self.publisher = publisher
        self.topics = topics
        self.subscribers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, topic: str):
        """Register ``async def f(session, actor, event_id, payload)`` for one of the topics."""
        if topic not in self.topics:
            raise ValueError(f"{self.publisher} publishes no event {topic!r}")

        def register(func: Handler) -> Handler:
            if func not in self.subscribers[topic]:
                self.subscribers[topic].append(func)
            return func

        return register

    async def notify(
        self,
        session: AsyncSession,
        actor: Actor,
        event_id: int,
        topic: str,
        payload: dict[str, Any],
    ) -> None:
        for subscriber in self.subscribers[topic]:
            await subscriber(session, actor, event_id, payload)

    def register_handlers(self) -> None:
        """Make the outbox handler of each topic the call of its subscribers."""
        for topic in self.topics:
            handles(topic)(self._handler(topic))

    def _handler(self, topic: str) -> Handler:
        async def handler(
            session: AsyncSession, actor: Actor, event_id: int, payload: dict[str, Any]
        ) -> None:
            await self.notify(session, actor, event_id, topic, payload)

        return handler
