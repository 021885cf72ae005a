"""Admission to booking in a flash crowd (放号).

Thousands of bookings can arrive in the same second. Served all at once, every one of them gets
a share of the process's CPU and all finish late, the winners too. Two things keep the answers
quick and in arrival order:

- **The gate**: at most as many bookings as the database pool has connections run in a process
  at a time, the others wait in arrival order (first come, first served), so the early ones
  finish first and the rest cost nothing while they wait.
- **Slots known full**: a slot this process has just seen full is answered "full" from memory
  for :data:`FULL_FOR_SECONDS`, without reading the slot again (a replayed idempotency key still
  answers its appointment). A place freed in this process (cancellation, 改约, an unpaid hold
  released) forgets the mark at once and again when its transaction commits; a place freed by
  another process is seen once the mark lapses, so a free place is never refused for longer than
  that. The mark only ever refuses: taking a place is always the conditional UPDATE.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from fastapi import Request
from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

FULL_FOR_SECONDS = 1.0
FULL_SLOTS = "booking_full_slots"  # session.info: the register of the app that opened it
_FREED = "booking_freed_slots"  # session.info: slots freed in the session's transaction
_SWEEP_AT = 4096  # marks kept before the lapsed ones are let go


class FullSlots:
    """Slots seen full lately, each until a moment on the monotonic clock.

    ``freed`` counts the places freed in this process: a request notes it before it reads a
    slot and marks the slot full only if nothing was freed since, so a read made before a
    cancellation committed cannot mark the freed place full after it."""

    def __init__(
        self, *, seconds: float = FULL_FOR_SECONDS, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.now = now
        self.freed = 0
        self._until: dict[int, float] = {}

    def is_full(self, slot_id: int) -> bool:
        until = self._until.get(slot_id)
        if until is None:
            return False
        if until <= self.now():
            del self._until[slot_id]
            return False
        return True

    def mark(self, slot_id: int, *, freed_before: int) -> None:
        """Mark ``slot_id`` full, as read when :attr:`freed` was ``freed_before``."""
        if self.freed != freed_before:
            return
        now = self.now()
        if len(self._until) >= _SWEEP_AT:
            self._until = {key: until for key, until in self._until.items() if until > now}
        self._until[slot_id] = now + self.seconds

    def forget(self, slot_id: int) -> None:
        self.freed += 1
        self._until.pop(slot_id, None)


def full_slots(session: AsyncSession) -> FullSlots | None:
    """The register of slots known full of the app that opened ``session`` (None for sessions
    of another process, such as a separate outbox worker: those only free places, which the
    app's processes see once their marks lapse)."""
    return session.info.get(FULL_SLOTS)


def place_freed(session: AsyncSession, slot_id: int) -> None:
    """A place of ``slot_id`` is being freed in ``session``'s transaction: forget the slot's
    mark now and once more when the transaction commits."""
    register = full_slots(session)
    if register is None:
        return
    register.forget(slot_id)
    session.sync_session.info.setdefault(_FREED, []).append(slot_id)


@orm_event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return
    freed = session.info.pop(_FREED, None)
    if freed and (register := session.info.get(FULL_SLOTS)) is not None:
        for slot_id in freed:
            register.forget(slot_id)


@orm_event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_FREED, None)


class Admission:
    """The app's gate for bookings and its register of slots known full."""

    def __init__(self, places: int) -> None:
        self.gate = asyncio.Semaphore(max(1, places))
        self.full = FullSlots()


async def admitted(request: Request) -> AsyncIterator[None]:
    """Dependency: wait for a place at the gate (in arrival order) before anything of the
    booking runs; the place is given back once the booking's transaction has ended."""
    async with request.app.state.booking_admission.gate:
        yield
