"""Migration 0013 moves the chain's links out of the entries: a trail written before it keeps
verifying after it, and going back gives every entry its link again, sealed or not."""

import asyncio
import json

import pytest
from sqlalchemy import text

from ihospital.audit.chain import GENESIS_HASH, compute_hash, seal_all, verify_chain
from ihospital.audit.models import AuditEntry
from ihospital.db import make_engine, make_sessionmaker
from ihospital.migrate import downgrade, upgrade
from tests.audit.support import append

OLD_STYLE_INSERT = text(
    "INSERT INTO audit_entries (seq, occurred_at, actor_account_id, actor_role, action,"
    " subject_type, subject_id, patient_id, ip, request_id, details, prev_hash, entry_hash)"
    " VALUES (:seq, :occurred_at, :actor_account_id, :actor_role, :action, :subject_type,"
    " :subject_id, :patient_id, :ip, :request_id, :details, :prev_hash, :entry_hash)"
)


async def _refused(engine, statement: str) -> None:
    with pytest.raises(Exception, match="append-only"):
        async with engine.begin() as connection:
            await connection.execute(text(statement))


async def test_links_go_back_into_the_entries_and_out_again_and_keep_verifying(databases, clock):
    url = await databases.fresh()
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            await append(session, clock, 3)
            await seal_all(session, clock)
            await append(session, clock, 2)  # not sealed yet when the schema goes back
    finally:
        await engine.dispose()

    await asyncio.to_thread(downgrade, url, "0012")
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT seq, prev_hash, entry_hash FROM audit_entries ORDER BY id")
                )
            ).all()
        assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
        assert [row.prev_hash for row in rows] == [
            GENESIS_HASH,
            *(row.entry_hash for row in rows[:-1]),
        ]
        await _refused(engine, "UPDATE audit_entries SET action = 'x'")

        # One more entry written as revision 0012 wrote them, on its own link.
        entry = AuditEntry(
            occurred_at=clock.now(),
            actor_account_id=9,
            actor_role="regulator",
            action="audit.read",
            subject_type="audit_log",
            subject_id="query",
            patient_id=None,
            ip="10.0.0.1",
            request_id="before-0013",
            details=json.dumps({"page": 1}),
        )
        entry_hash = compute_hash(entry, seq=6, prev_hash=rows[-1].entry_hash)
        async with engine.begin() as connection:
            await connection.execute(
                OLD_STYLE_INSERT,
                {
                    **{
                        column: getattr(entry, column)
                        for column in (
                            "occurred_at",
                            "actor_account_id",
                            "actor_role",
                            "action",
                            "subject_type",
                            "subject_id",
                            "patient_id",
                            "ip",
                            "request_id",
                            "details",
                        )
                    },  # fmt: skip
                    "seq": 6,
                    "prev_hash": rows[-1].entry_hash,
                    "entry_hash": entry_hash,
                },
            )
    finally:
        await engine.dispose()

    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            result = await verify_chain(session, clock)
        assert (result.ok, result.checked, result.unsealed) == (True, 6, 0)
        await _refused(engine, "UPDATE audit_entries SET action = 'x'")
        await _refused(engine, "DELETE FROM audit_seals")
    finally:
        await engine.dispose()
