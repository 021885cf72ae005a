"""The publish/subscribe hub behind live WebSocket pushes.

``publish(channel, event)`` reaches every ``subscribe(channel)`` open at that moment, in the order
of the calls; it returns at once (the in-process hub has delivered, the Redis hub has queued the
event for its one sender). Two implementations with one interface: in-process (one app process,
the default) and Redis pub/sub (every process of the deployment, when ``IHOSPITAL_REDIS_URL`` is
set). Events are JSON objects; delivery is at most once, so a subscriber that must miss nothing
reads the stored items it may have missed after subscribing (see :mod:`ihospital.realtime.socket`).

A subscriber that falls :data:`QUEUE_SIZE` events behind, or whose hub loses Redis, is ended with
:class:`HubUnavailable` rather than skipped silently: its client reconnects and resumes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ihospital.config import Settings

log = logging.getLogger("ihospital.realtime")
QUEUE_SIZE = 1000
OUTGOING_SIZE = 10_000
PUBLISH_BATCH = 500
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
Event = dict[str, Any]


class HubUnavailable(Exception):
    """The subscription ended: the subscriber fell behind, or the hub lost Redis or closed."""


class Subscription:
    """The events of one channel for one subscriber, oldest first (an async iterator)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(QUEUE_SIZE)
        self._failure: HubUnavailable | None = None

    def put(self, event: Event) -> None:
        if self._failure is None and self._queue.full():
            self.fail(HubUnavailable("the subscriber fell behind"))
        elif self._failure is None:
            self._queue.put_nowait(event)

    def fail(self, failure: HubUnavailable) -> None:
        if self._failure is None:
            self._failure = failure
            while not self._queue.empty():  # what is left is not delivered: the client resumes
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        event = await self._queue.get()
        if event is None:
            assert self._failure is not None
            raise self._failure
        return event


class _Fanout:
    """The subscriptions of this process by channel."""

    def __init__(self) -> None:
        self.channels: dict[str, set[Subscription]] = defaultdict(set)

    def add(self, channel: str) -> tuple[Subscription, bool]:
        """A new subscription, and whether it is the channel's first in this process."""
        subscription = Subscription()
        first = not self.channels[channel]
        self.channels[channel].add(subscription)
        return subscription, first

    def remove(self, channel: str, subscription: Subscription) -> bool:
        """Forget a subscription; True when it was the channel's last."""
        subscribers = self.channels.get(channel, set())
        subscribers.discard(subscription)
        if subscribers:
            return False
        self.channels.pop(channel, None)
        return True

    def deliver(self, channel: str, event: Event) -> None:
        for subscription in list(self.channels.get(channel, ())):
            subscription.put(event)

    def fail_all(self, failure: HubUnavailable) -> None:
        for subscribers in list(self.channels.values()):
            for subscription in list(subscribers):
                subscription.fail(failure)


class Hub(Protocol):
    def publish(self, channel: str, event: Event) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]: ...

    async def close(self) -> None: ...


class InProcessHub:
    """Subscribers of this process only."""

    def __init__(self) -> None:
        self._fanout = _Fanout()

    def publish(self, channel: str, event: Event) -> None:
        # Through JSON, as over Redis: subscribers get their own copy, and a value that JSON
        # cannot carry fails here in every deployment, not only in the one with Redis.
        self._fanout.deliver(channel, json.loads(json.dumps(event, ensure_ascii=False)))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription, _ = self._fanout.add(channel)
        try:
            yield subscription
        finally:
            self._fanout.remove(channel, subscription)

    async def close(self) -> None:
        self._fanout.fail_all(HubUnavailable("the hub closed"))


class RedisHub:
    """Redis pub/sub shared by every process. One Redis connection per process carries all of
    its subscriptions (a channel is subscribed while this process has a subscriber to it); a
    reader task hands each message to the local subscribers. ``subscribe`` returns once Redis has
    confirmed the subscription, so everything published after that reaches it. Publishing goes
    through one sender task, so events leave in the order published; if Redis fails, the
    batch is lost (and logged): readers that lost Redis too reconnect and resume."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "ih:rt:") -> None:
        self.client = client
        self.prefix = prefix
        self._fanout = _Fanout()
        self._lock = asyncio.Lock()  # orders SUBSCRIBE/UNSUBSCRIBE with the bookkeeping
        self._pubsub: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._awaiting: dict[str, deque[asyncio.Future[None]]] = defaultdict(deque)
        self._outgoing: asyncio.Queue[tuple[str, str]] = asyncio.Queue(OUTGOING_SIZE)
        self._sender: asyncio.Task[None] | None = None

    def publish(self, channel: str, event: Event) -> None:
        data = json.dumps(event, ensure_ascii=False)
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send())
        try:
            self._outgoing.put_nowait((self.prefix + channel, data))
        except asyncio.QueueFull:
            log.warning("realtime hub: Redis is too slow, an event on %s is dropped", channel)

    async def _send(self) -> None:
        while True:
            batch = [await self._outgoing.get()]
            while len(batch) < PUBLISH_BATCH and not self._outgoing.empty():
                batch.append(self._outgoing.get_nowait())
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    for channel, data in batch:
                        pipe.publish(channel, data)
                    await pipe.execute()
            except (RedisError, OSError):
                log.warning("realtime hub: %d events not published", len(batch), exc_info=True)

    async def _start_reader(self) -> None:
        if self._reader is not None and not self._reader.done():
            return
        if self._pubsub is not None:  # the connection that was lost
            await asyncio.gather(self._pubsub.aclose(), return_exceptions=True)
        self._pubsub = self.client.pubsub()
        # A channel of its own keeps the connection subscribed while no one else is.
        await self._pubsub.subscribe(self.prefix + "hub")
        self._reader = asyncio.create_task(self._read(self._pubsub))

    async def _read(self, pubsub: Any) -> None:
        try:
            async for message in pubsub.listen():
                channel = message["channel"].decode()[len(self.prefix) :]
                if message["type"] == "subscribe" and self._awaiting.get(channel):
                    confirmation = self._awaiting[channel].popleft()
                    if not confirmation.done():
                        confirmation.set_result(None)
                elif message["type"] == "message":
                    self._fanout.deliver(channel, json.loads(message["data"]))
        except (RedisError, OSError, ValueError):
            log.warning("realtime hub: Redis connection lost", exc_info=True)
        self._end(HubUnavailable("the hub lost its Redis connection"))

    def _end(self, failure: HubUnavailable) -> None:
        for waiting in self._awaiting.values():
            for confirmation in waiting:
                if not confirmation.done():
                    confirmation.set_exception(failure)
        self._awaiting.clear()
        self._confirmed.clear()
        self._fanout.fail_all(failure)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        try:
            async with self._lock:
                await self._start_reader()
                subscription, first = self._fanout.add(channel)
                if first:
                    confirmation = asyncio.get_running_loop().create_future()
                    self._awaiting[channel].append(confirmation)
                    self._confirmed[channel] = confirmation
                    await self._pubsub.subscribe(self.prefix + channel)
                confirmed = self._confirmed[channel]
        except (RedisError, OSError) as exc:
            raise HubUnavailable("Redis is unavailable") from exc
        try:
            await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_TIMEOUT_SECONDS)
        except TimeoutError as exc:
            await self._leave(channel, subscription)
            raise HubUnavailable("Redis did not confirm the subscription") from exc
        except HubUnavailable:
            await self._leave(channel, subscription)
            raise
        try:
            yield subscription
        finally:
            await self._leave(channel, subscription)

    async def _leave(self, channel: str, subscription: Subscription) -> None:
        async with self._lock:
            if not self._fanout.remove(channel, subscription):
                return
            self._confirmed.pop(channel, None)
            if self._reader is not None and not self._reader.done():
                try:
                    await self._pubsub.unsubscribe(self.prefix + channel)
                except (RedisError, OSError):
                    log.warning("realtime hub: could not unsubscribe", exc_info=True)

    async def close(self) -> None:
        for task in (self._sender, self._reader):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._end(HubUnavailable("the hub closed"))
        if self._pubsub is not None:
            await self._pubsub.aclose()
        await self.client.aclose()


def make_hub(settings: Settings, *, prefix: str = "ih:rt:") -> Hub:
    """Redis when ``redis_url`` is set, else in-process."""
    if not settings.redis_url:
        return InProcessHub()
    return RedisHub(aioredis.from_url(settings.redis_url), prefix=prefix)
