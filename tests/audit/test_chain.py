"""The audit chain: entries are written without a lock and sealed afterwards, in order; an edit,
a deletion or a reordering of what was sealed is named, and so is an entry left unsealed."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update

from ihospital.audit.chain import (
    GENESIS_HASH,
    SEAL_WITHIN,
    run_sealer,
    seal_all,
    seal_pending,
    verify_chain,
)
from ihospital.audit.models import AuditEntry, AuditSeal
from ihospital.audit.service import seal_late
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from tests.audit.support import append, tamper
from tests.conftest import BACKEND

postgresql_only = pytest.mark.skipif(
    BACKEND != "postgresql", reason="SQLite has one writer: its transactions never overlap"
)


async def _links(session):
    return (
        await session.execute(
            select(
                AuditSeal.seq, AuditSeal.entry_id, AuditSeal.prev_hash, AuditSeal.entry_hash
            ).order_by(AuditSeal.seq)
        )
    ).all()


# ---- sealing -----------------------------------------------------------------------------------


async def test_sealed_entries_verify(session, clock):
    await append(session, clock, 5)
    assert await seal_all(session, clock) == 5
    result = await verify_chain(session, clock)
    assert (result.ok, result.checked, result.unsealed) == (True, 5, 0)


async def test_each_round_seals_the_new_entries_in_id_order_after_the_last_link(session, clock):
    first = await append(session, clock, 3)
    await seal_pending(session, clock)
    second = await append(session, clock, 2)
    assert await seal_pending(session, clock) == 2
    assert await seal_pending(session, clock) == 0
    links = await _links(session)
    assert [(link.seq, link.entry_id) for link in links] == [
        (n + 1, entry.id) for n, entry in enumerate([*first, *second])
    ]
    assert [link.prev_hash for link in links] == [
        GENESIS_HASH,
        *(link.entry_hash for link in links[:-1]),
    ]


async def test_a_round_seals_at_most_its_batch(session, clock):
    entries = await append(session, clock, 3)
    assert await seal_pending(session, clock, limit=2) == 2
    assert [link.entry_id for link in await _links(session)] == [e.id for e in entries[:2]]
    assert await seal_pending(session, clock, limit=2) == 1


async def test_entries_not_sealed_yet_are_counted_and_pass(session, clock):
    await append(session, clock, 2)
    await seal_all(session, clock)
    later = await append(session, clock, 3)
    result = await verify_chain(session, clock)
    assert (result.ok, result.checked, result.unsealed, result.late) == (True, 2, 3, 0)
    assert result.oldest_unsealed_id == later[0].id


async def test_an_entry_left_unsealed_past_the_window_fails_until_sealed_late(session, clock):
    stranded = await append(session, clock, 2)
    clock.advance(SEAL_WITHIN + timedelta(seconds=1))
    await append(session, clock, 1)
    assert await seal_all(session, clock) == 1  # the sealer leaves the old ones alone
    result = await verify_chain(session, clock)
    assert not result.ok
    assert (result.checked, result.unsealed, result.late) == (1, 2, 2)
    assert result.first_bad_seq is None
    assert (result.oldest_unsealed_id, result.oldest_unsealed_at) == (
        stranded[0].id,
        stranded[0].occurred_at,
    )
    assert "not sealed within 10 minutes" in result.reason

    operator = Actor.system(clock, request_id="cli")
    assert await seal_late(session, operator) == 2
    recorded = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert (recorded.action, recorded.details) == ("audit.seal_late", '{"entries": 2}')
    assert await seal_all(session, clock) == 1
    result = await verify_chain(session, clock)
    assert (result.ok, result.checked, result.unsealed) == (True, 4, 0)


async def test_an_entry_just_inside_the_window_is_sealed(session, clock):
    await append(session, clock, 1)
    clock.advance(SEAL_WITHIN)
    assert await seal_all(session, clock) == 1


async def test_the_sealer_loop_seals_committed_entries_until_stopped(databases, clock):
    engine = make_engine(await databases.fresh())
    try:
        factory = make_sessionmaker(engine)
        stop = asyncio.Event()
        sealer = asyncio.create_task(run_sealer(factory, clock, stop=stop, every=0.05))
        async with factory() as session, session.begin():
            await append(session, clock, 3)
        async with asyncio.timeout(10):
            while True:
                async with factory() as session:
                    if len(await _links(session)) == 3:
                        break
                await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(sealer, 5)
        async with factory() as session:
            assert (await verify_chain(session, clock)).ok
    finally:
        await engine.dispose()


# ---- concurrent writers (PostgreSQL) -----------------------------------------------------------


@postgresql_only
async def test_writers_do_not_wait_for_each_other_and_a_late_commit_is_sealed_next(
    databases, clock
):
    """Two transactions each hold an audit entry uncommitted: neither waits for the other, nor
    for the sealer. The one that commits late, though it wrote first, is sealed in the next
    round."""
    engine = make_engine(await databases.fresh())
    try:
        factory = make_sessionmaker(engine)
        async with factory() as first, factory() as second, factory() as sealer:
            await first.begin()
            (early,) = await append(first, clock, 1)
            await second.begin()
            (late,) = await asyncio.wait_for(append(second, clock, 1), 5)
            await asyncio.wait_for(second.commit(), 5)
            async with sealer.begin():
                assert await asyncio.wait_for(seal_pending(sealer, clock), 5) == 1
            await first.commit()
            async with sealer.begin():
                assert await seal_pending(sealer, clock) == 1
            assert [(link.seq, link.entry_id) for link in await _links(sealer)] == [
                (1, late.id),
                (2, early.id),
            ]
            assert early.id < late.id
            result = await verify_chain(sealer, clock)
            assert (result.ok, result.checked) == (True, 2)
    finally:
        await engine.dispose()


@postgresql_only
async def test_two_sealers_take_turns_and_never_link_an_entry_twice(databases, clock):
    engine = make_engine(await databases.fresh())
    try:
        factory = make_sessionmaker(engine)
        async with factory() as session, session.begin():
            await append(session, clock, 5)

        async def seal() -> int:
            async with factory() as session, session.begin():
                return await seal_pending(session, clock)

        assert sorted(await asyncio.gather(seal(), seal())) == [0, 5]
        async with factory() as session:
            assert (await verify_chain(session, clock)).checked == 5
    finally:
        await engine.dispose()


# ---- append-only -------------------------------------------------------------------------------


async def test_application_refuses_to_edit_an_entry(session, clock):
    await append(session, clock, 1)
    entry = (await session.scalars(select(AuditEntry))).one()
    entry.action = "patient.delete"
    with pytest.raises(PermissionError):
        await session.flush()


async def test_application_refuses_to_edit_a_seal(session, clock):
    await append(session, clock, 1)
    await seal_all(session, clock)
    seal = (await session.scalars(select(AuditSeal))).one()
    seal.entry_hash = "f" * 64
    with pytest.raises(PermissionError):
        await session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEntry).values(action="x"),
        delete(AuditEntry),
        update(AuditSeal).values(prev_hash="x"),
        delete(AuditSeal),
    ],
)
async def test_application_refuses_bulk_changes(session, clock, statement):
    await append(session, clock, 1)
    await seal_all(session, clock)
    with pytest.raises(PermissionError):
        await session.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET action = 'x'",
        "DELETE FROM audit_entries",
        "UPDATE audit_seals SET prev_hash = 'x'",
        "DELETE FROM audit_seals",
    ],
)
async def test_database_refuses_changes_behind_the_applications_back(session, clock, statement):
    await append(session, clock, 1)
    await seal_all(session, clock)
    with pytest.raises(Exception, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(statement))


# ---- tampering ---------------------------------------------------------------------------------

ENTRY_OF = "(SELECT entry_id FROM audit_seals WHERE seq = {})"


@pytest.mark.parametrize(
    ("tampering", "bad_seq", "reason"),
    [
        (
            [f"UPDATE audit_entries SET details = '{{\"n\": 99}}' WHERE id = {ENTRY_OF.format(3)}"],
            3,
            "content changed (edited)",
        ),
        ([f"DELETE FROM audit_entries WHERE id = {ENTRY_OF.format(2)}"], 2, "entry (deleted)"),
        (["DELETE FROM audit_seals WHERE seq = 2"], 2, "link (seal deleted)"),
        (
            [
                "UPDATE audit_seals SET seq = 1000 WHERE seq = 3",
                "UPDATE audit_seals SET seq = 3 WHERE seq = 4",
                "UPDATE audit_seals SET seq = 4 WHERE seq = 1000",
            ],
            3,
            "reordered",
        ),
    ],
)
async def test_verify_names_the_first_tampered_link(databases, clock, tampering, bad_seq, reason):
    url = await databases.fresh()
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        async with factory() as session, session.begin():
            await append(session, clock, 5)
            await seal_all(session, clock)
        await tamper(url, *tampering)
        async with factory() as session:
            result = await verify_chain(session, clock)
        assert not result.ok
        assert (result.first_bad_seq, result.checked) == (bad_seq, bad_seq - 1)
        assert reason in result.reason
    finally:
        await engine.dispose()


async def test_removing_the_last_seals_to_edit_their_entries_is_reported(databases, clock):
    """The tail of the chain could be cut and its entries edited; the sealer does not link them
    again once the window has passed, so verification names them."""
    url = await databases.fresh()
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        async with factory() as session, session.begin():
            entries = await append(session, clock, 5)
            await seal_all(session, clock)
        clock.advance(SEAL_WITHIN + timedelta(minutes=1))
        await tamper(
            url,
            "DELETE FROM audit_seals WHERE seq >= 4",
            f"UPDATE audit_entries SET action = 'patient.list' WHERE id >= {entries[3].id}",
        )
        async with factory() as session, session.begin():
            assert await seal_all(session, clock) == 0
            result = await verify_chain(session, clock)
        assert not result.ok
        assert (result.checked, result.unsealed, result.late) == (3, 2, 2)
        assert result.oldest_unsealed_id == entries[3].id
    finally:
        await engine.dispose()
