"""Group commit of chat messages: the app process's one writer of the sends that come by socket
and by the JSON API.

A send queues; a batch takes every send waiting (at most :data:`BATCH_SIZE`) and stores them
in one transaction (:func:`~ihospital.consultation.chat_send.store_sends`), then each sender
gets its own outcome. While a batch is in flight the next sends wait for it, so under load a
transaction carries many messages for the round trips of one, and when the chat is quiet a batch
is the one message just sent, stored at once. Up to :data:`CONCURRENT_BATCHES` batches are in
flight together, but a consultation is in one of them at a time: a send of a consultation that
a batch in flight is storing waits, in its place in the queue, for the next batch, so the
messages of a consultation are stored in the order they came. Batches of different processes
that share a consultation queue on its row lock (taken in ascending id order: they do not
deadlock), so its messages commit, and get their ids, one batch after the other. Should a
batch's transaction fail (a database error rather than a refused send), its sends are stored
again one by one, so that one bad send cannot sink the others.

A send the server has received is stored even if its sender goes away while it waits (the
socket closed, the request cancelled): the other side gets it, and the sender sees it when it
resumes after its last id, as it would have had the socket stayed open. Once stored, a message
is published after commit like any other.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.chat_models import ConsultationMessage
from ihospital.consultation.chat_send import Outcome, Send, store_sends
from ihospital.errors import AppError

log = logging.getLogger("ihospital.consultation")
BATCH_SIZE = 200
CONCURRENT_BATCHES = 2


@dataclass(frozen=True)
class _Waiting:
    send: Send
    outcome: asyncio.Future[Outcome]


class ChatWriter:
    """Stores chat messages in batches; ``new_session`` opens a session on the app's database
    (read when a batch starts, so tests can swap the app's sessionmaker)."""

    def __init__(
        self,
        new_session: Callable[[], AsyncSession],
        *,
        batch_size: int = BATCH_SIZE,
        concurrent_batches: int = CONCURRENT_BATCHES,
    ) -> None:
        self._new_session = new_session
        self._batch_size = batch_size
        self._concurrent_batches = concurrent_batches
        self._waiting: deque[_Waiting] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._draining = 0  # tasks that will look at the queue again before they end
        self._storing: set[int] = set()  # the consultations of the batches in flight

    async def send(self, send: Send) -> ConsultationMessage:
        """Send a message as :func:`~ihospital.consultation.chat_send.send_message` does, in a
        transaction of the writer's own (committed when this returns); raises the error that
        refuses it."""
        outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        outcome.add_done_callback(_seen)
        self._waiting.append(_Waiting(send, outcome))
        if self._draining < self._concurrent_batches:
            self._draining += 1
            task = asyncio.create_task(self._drain())
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        result = await asyncio.shield(outcome)  # stored even if the sender goes away
        if isinstance(result, AppError):
            raise result
        return result

    async def close(self) -> None:
        """Wait for the batches in flight (the app shuts down)."""
        while self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _drain(self) -> None:
        """Store batches until no send waits; a task runs only while there is work. It counts
        itself out in the same step as it finds the queue empty, so a send queued after that
        starts a task of its own."""
        try:
            while batch := self._take():
                consultations = {waiting.send.consultation_id for waiting in batch}
                self._storing |= consultations
                try:
                    await self._store(batch)
                finally:
                    self._storing -= consultations
        finally:
            self._draining -= 1

    def _take(self) -> list[_Waiting]:
        """The next batch: the waiting sends in their order, up to the batch size, leaving
        queued (in their places) those of consultations a batch in flight is storing; that
        batch's task takes them once it has committed. Empty when nothing else can go."""
        batch: list[_Waiting] = []
        later: list[_Waiting] = []
        while self._waiting and len(batch) < self._batch_size:
            waiting = self._waiting.popleft()
            busy = waiting.send.consultation_id in self._storing
            (later if busy else batch).append(waiting)
        self._waiting.extendleft(reversed(later))
        return batch

    async def _store(self, batch: list[_Waiting]) -> None:
        try:
            async with self._new_session() as session:
                outcomes = await store_sends(session, [waiting.send for waiting in batch])
                await session.commit()
        except Exception as failure:
            if len(batch) > 1:
                log.warning("chat: a batch of %d sends failed; one by one", len(batch))
                for waiting in batch:
                    await self._store([waiting])
                return
            _settle(batch[0], failure=failure)
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            _settle(waiting, outcome=outcome)


def _settle(
    waiting: _Waiting, *, outcome: Outcome | None = None, failure: Exception | None = None
) -> None:
    if failure is not None:
        waiting.outcome.set_exception(failure)
    else:
        assert outcome is not None
        waiting.outcome.set_result(outcome)


def _seen(outcome: asyncio.Future[Outcome]) -> None:
    """Mark a failure as retrieved: a sender that went away does not read it, and it is logged
    by the batch already."""
    outcome.exception()
