import pytest
from sqlalchemy import select, text, update

from ihospital.audit.models import AuditEntry
from ihospital.audit.service import record, verify_chain
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from tests.conftest import BACKEND


async def _append(session, clock, count):
    actor = Actor(role="doctor", clock=clock, account_id=7, ip="127.0.0.1", request_id="r1")
    for n in range(count):
        await record(
            session,
            actor,
            action="patient.read",
            subject_type="patient",
            subject_id=n,
            patient_id=n,
            details={"n": n},
        )


async def test_chain_of_appended_entries_verifies(session, clock):
    await _append(session, clock, 5)
    result = await verify_chain(session)
    assert result.ok
    assert result.checked == 5


async def test_application_refuses_to_edit_an_entry(session, clock):
    await _append(session, clock, 1)
    entry = (await session.scalars(select(AuditEntry))).one()
    entry.action = "patient.delete"
    with pytest.raises(PermissionError):
        await session.flush()


async def test_application_refuses_bulk_delete(session, clock):
    await _append(session, clock, 1)
    with pytest.raises(PermissionError):
        await session.execute(update(AuditEntry).values(action="x"))


async def test_database_refuses_update_behind_the_applications_back(session, clock):
    await _append(session, clock, 1)
    with pytest.raises(Exception, match="append-only"):
        async with session.begin_nested():
            await session.execute(text("UPDATE audit_entries SET action = 'x'"))


def _disable_guard_sql() -> list[str]:
    if BACKEND == "postgresql":
        return ["ALTER TABLE audit_entries DISABLE TRIGGER USER"]
    return ["DROP TRIGGER audit_entries_no_update", "DROP TRIGGER audit_entries_no_delete"]


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "reason"),
    [
        (["UPDATE audit_entries SET details = '{\"n\": 99}' WHERE seq = 3"], 3, "edited"),
        (["DELETE FROM audit_entries WHERE seq = 2"], 2, "deleted"),
        (
            [
                "UPDATE audit_entries SET seq = 1000 WHERE seq = 3",
                "UPDATE audit_entries SET seq = 3 WHERE seq = 4",
                "UPDATE audit_entries SET seq = 4 WHERE seq = 1000",
            ],
            3,
            "reordered",
        ),
    ],
)
async def test_verify_names_the_first_tampered_entry(databases, clock, tamper, bad_seq, reason):
    engine = make_engine(await databases.fresh())
    try:
        factory = make_sessionmaker(engine)
        async with factory() as session, session.begin():
            await _append(session, clock, 5)
        async with engine.begin() as connection:
            for statement in [*_disable_guard_sql(), *tamper]:
                await connection.execute(text(statement))
        async with factory() as session:
            result = await verify_chain(session)
        assert not result.ok
        assert result.first_bad_seq == bad_seq
        assert reason in result.reason
    finally:
        await engine.dispose()
