"""Writing entries for audit tests, and changing the trail behind the application's back."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from ihospital.audit.models import AuditEntry
from ihospital.audit.service import record
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.db import make_engine
from tests.conftest import BACKEND


async def append(session: AsyncSession, clock: Clock, count: int) -> list[AuditEntry]:
    actor = Actor(role="doctor", clock=clock, account_id=7, ip="127.0.0.1", request_id="r1")
    return [
        await record(
            session,
            actor,
            action="patient.read",
            subject_type="patient",
            subject_id=n,
            patient_id=n,
            details={"n": n},
        )
        for n in range(count)
    ]


async def tamper(url: str, *statements: str) -> None:
    """Run ``statements`` as someone with direct access to the database would: with the
    append-only triggers and the foreign keys out of the way."""
    if BACKEND == "postgresql":
        engine = make_engine(url)
        prelude = ["SET LOCAL session_replication_role = replica"]
    else:
        engine = create_async_engine(url)  # a plain connection: SQLite's foreign keys are off
        prelude = [
            f"DROP TRIGGER IF EXISTS {table}_no_{verb}"
            for table in ("audit_entries", "audit_seals")
            for verb in ("update", "delete")
        ]
    try:
        async with engine.begin() as connection:
            for statement in (*prelude, *statements):
                await connection.execute(text(statement))
    finally:
        await engine.dispose()
