"""Publishing to the hub once the transaction that wrote the item commits (STYLE.md: side effects
after commit). Nothing is published for a transaction, or a savepoint, that rolls back.

Publishing is at most once, like the hub: a client that missed an event (the process died
after the commit) reads the item when it resumes.
"""

from __future__ import annotations

import logging

from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from ihospital.realtime.hub import Event, Hub

log = logging.getLogger("ihospital.realtime")
_PENDING = "realtime_pending"
SESSION_HUB = "realtime_hub"  # session.info: the hub of the app that opened the session

Pending = tuple[SessionTransaction | None, Hub, str, Event]


def publish_after_commit(session: AsyncSession, hub: Hub, channel: str, event: Event) -> None:
    """Publish ``event`` on ``channel`` when ``session``'s transaction commits."""
    sync_session = session.sync_session
    if not sync_session.in_transaction():
        sync_session.begin()  # so that a rollback before any SQL forgets it too
    pending: list[Pending] = sync_session.info.setdefault(_PENDING, [])
    pending.append((sync_session.get_nested_transaction(), hub, channel, event))


@orm_event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its items wait for the transaction
    for _, hub, channel, event in session.info.pop(_PENDING, None) or ():
        try:
            hub.publish(channel, event)
        except Exception:  # the item is stored: its reader gets it on resume
            log.warning("realtime: could not publish on %s", channel, exc_info=True)


def within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@orm_event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    items: list[Pending] | None = session.info.get(_PENDING)
    if not items:
        return
    if not previous_transaction.nested:
        session.info.pop(_PENDING, None)
        return
    session.info[_PENDING] = [item for item in items if not within(item[0], previous_transaction)]
