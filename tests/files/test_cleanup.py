"""No object without its row: an upload whose transaction rolls back (even after the service
returned, or only its savepoint) has its object deleted, and the sweep deletes objects older than
the grace period that no row names, leaving newer ones and named ones alone."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ihospital.audit.models import AuditEntry
from ihospital.core.context import Actor
from ihospital.files.cleanup import deletions_done
from ihospital.files.models import StoredFile
from ihospital.files.service import store_upload
from ihospital.files.storage import LocalDirectoryStore, new_key
from ihospital.files.sweep import SWEEP_GRACE, sweep_orphans
from tests.files.builders import pdf
from tests.identity.builders import make_account

MB = 1024 * 1024


class Boom(Exception):
    pass


@pytest.fixture
def store(tmp_path) -> LocalDirectoryStore:
    return LocalDirectoryStore(tmp_path / "objects")


@pytest.fixture
async def actor(session, clock) -> Actor:
    account = await make_account(session, clock=clock)
    await session.commit()
    return Actor(role="patient", clock=clock, account_id=account.id)


def _objects(store: LocalDirectoryStore) -> list[str]:
    return sorted(f"{p.parent.name}/{p.name}" for p in store.root.glob("*/*") if p.is_file())


async def _upload(session, actor: Actor, store: LocalDirectoryStore):
    return await store_upload(
        session, actor, store=store, data=pdf(), filename="a.pdf", max_bytes=MB
    )


async def test_an_upload_whose_transaction_rolls_back_leaves_no_object(
    session_factory, actor, store
):
    async with session_factory() as session:
        stored = await _upload(session, actor, store)
        assert _objects(store) == [stored.storage_key]
        await session.rollback()  # the request's commit failed after the service returned
    await deletions_done()
    assert _objects(store) == []


async def test_an_upload_whose_commit_fails_leaves_no_object(session_factory, actor, store):
    async with session_factory() as session:
        stored = await _upload(session, actor, store)
        twin = StoredFile(
            owner_account_id=actor.account_id,
            content_type=stored.content_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            storage_key=stored.storage_key,  # unique: the commit's flush fails
            original_name="b.pdf",
            created_at=stored.created_at,
        )
        session.add(twin)
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()  # as the request's session does
    await deletions_done()
    assert _objects(store) == []


async def test_only_the_objects_of_a_savepoint_that_rolls_back_are_deleted(
    session_factory, actor, store
):
    async with session_factory() as session:
        kept = await _upload(session, actor, store)
        with pytest.raises(Boom):
            async with session.begin_nested():
                await _upload(session, actor, store)
                raise Boom
        await deletions_done()
        assert _objects(store) == [kept.storage_key]
        await session.commit()
        await session.rollback()  # nothing pending after the commit: the object stays
    await deletions_done()
    assert _objects(store) == [kept.storage_key]


async def test_the_sweep_deletes_old_objects_that_no_row_names(session, actor, clock, store):
    named = await _upload(session, actor, store)
    old_orphan, new_orphan = new_key(), new_key()
    for key in (old_orphan, new_orphan):
        await store.put(key, b"%PDF-1.4", content_type="application/pdf")
    old = (clock.now() - SWEEP_GRACE - timedelta(minutes=1)).timestamp()
    recent = (clock.now() - SWEEP_GRACE + timedelta(minutes=1)).timestamp()
    for key, when in ((named.storage_key, old), (old_orphan, old), (new_orphan, recent)):
        os.utime(store.root / key, (when, when))
    (store.root / old_orphan).with_name(".upload-x").write_bytes(b"half")
    os.utime(store.root / old_orphan.split("/")[0] / ".upload-x", (old, old))

    assert await sweep_orphans(session, actor, store=store) == 1
    left = {f"{p.parent.name}/{p.name}" for p in store.root.glob("*/*")}
    assert old_orphan not in left
    assert {named.storage_key, new_orphan, f"{old_orphan[:2]}/.upload-x"} <= left
    entry = await session.scalar(
        select(AuditEntry).where(AuditEntry.action == "file.orphans_swept")
    )
    assert entry is not None
    assert await sweep_orphans(session, actor, store=store) == 0
