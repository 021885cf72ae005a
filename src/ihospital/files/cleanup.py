"""Objects written for a transaction that rolled back are deleted (no object without its row).

An upload writes its object first and its ``stored_files`` row after (no database lock is held
while the store answers). :func:`delete_if_rolled_back` remembers the object on the session; if
the transaction (or the savepoint it was written in) rolls back, even after the upload's service
returned (the request's commit failed), the object is deleted in the background. Objects left by
a process that died in between are found by :func:`ihospital.files.sweep.sweep_orphans`.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from ihospital.files.storage import ObjectStore, ObjectStoreError
from ihospital.realtime.after_commit import within

log = logging.getLogger("ihospital.files")
_WRITTEN = "files_written"
_deleting: set[asyncio.Task[None]] = set()

Written = tuple[SessionTransaction | None, ObjectStore, str]


def delete_if_rolled_back(session: AsyncSession, store: ObjectStore, key: str) -> None:
    """Delete the object ``key`` from ``store`` if ``session``'s transaction rolls back."""
    sync_session = session.sync_session
    if not sync_session.in_transaction():
        sync_session.begin()
    written: list[Written] = sync_session.info.setdefault(_WRITTEN, [])
    written.append((sync_session.get_nested_transaction(), store, key))


async def _delete(store: ObjectStore, key: str) -> None:
    try:
        await store.delete(key)
    except ObjectStoreError:  # left for the sweep
        log.warning("files: could not delete the orphaned object %s", key, exc_info=True)


def _delete_later(store: ObjectStore, key: str) -> None:
    task = asyncio.get_running_loop().create_task(_delete(store, key))
    _deleting.add(task)
    task.add_done_callback(_deleting.discard)


async def deletions_done() -> None:
    """Wait for the deletions under way (at shutdown, and in tests)."""
    while _deleting:
        await asyncio.gather(*list(_deleting))


@orm_event.listens_for(Session, "after_commit")
def _keep_committed(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_WRITTEN, None)


@orm_event.listens_for(Session, "after_soft_rollback")
def _delete_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    written: list[Written] | None = session.info.get(_WRITTEN)
    if not written:
        return
    if previous_transaction.nested:
        ended = [item for item in written if within(item[0], previous_transaction)]
    else:
        ended = written
    session.info[_WRITTEN] = [item for item in written if item not in ended]
    for _, store, key in ended:
        _delete_later(store, key)
