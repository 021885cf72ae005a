"""The sweep of orphaned objects: objects in the store that no ``stored_files`` row names.

An upload writes its object before its row commits; a transaction that rolls back deletes the
object again (:mod:`ihospital.files.cleanup`), but a process that dies in between leaves it. The
sweep (``ihospital files sweep``) deletes the objects older than a grace period that no row
names; the grace period leaves uploads under way alone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.service import record
from ihospital.core.context import Actor
from ihospital.files.models import StoredFile
from ihospital.files.storage import ObjectStore

SWEEP_GRACE = timedelta(hours=1)
_BATCH = 500


async def sweep_orphans(
    session: AsyncSession, actor: Actor, *, store: ObjectStore, grace: timedelta = SWEEP_GRACE
) -> int:
    """Delete the objects written more than ``grace`` ago that no row names; the number
    deleted (audited when not 0)."""
    candidates = await store.keys_before(actor.clock.now() - grace)
    deleted = 0
    for start in range(0, len(candidates), _BATCH):
        batch = candidates[start : start + _BATCH]
        named = set(
            await session.scalars(
                select(StoredFile.storage_key).where(StoredFile.storage_key.in_(batch))
            )
        )
        for key in batch:
            if key not in named:
                await store.delete(key)
                deleted += 1
    if deleted:
        await record(
            session,
            actor,
            action="file.orphans_swept",
            subject_type="object_store",
            subject_id="files",
            details={"deleted": deleted, "grace_seconds": int(grace.total_seconds())},
        )
    return deleted
