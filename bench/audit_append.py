"""Audit append throughput, against the floor of a plain insert of the same row; then the
sealer's and the verification's rates.

Each append is its own transaction (as in a request): ``record`` inserts the entry (no lock, no
read of the chain); the floor inserts a similar row into a table without the audit's indexes.
Then the sealer links all of them into the chain, one batch per transaction as in the worker, and
the chain is verified. Run: ``python bench/audit_append.py [--url URL] [--count N]`` (default: a
temporary SQLite file; pass a PostgreSQL URL to measure the server).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, insert

from ihospital.audit.chain import SEAL_BATCH, seal_pending, verify_chain
from ihospital.audit.service import record
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.migrate import upgrade

floor_table = Table(
    "bench_plain_entries",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("action", String(64)),
    Column("subject_id", String(64)),
    Column("details", Text),
)


async def run(url: str, count: int) -> None:
    await asyncio.to_thread(upgrade, url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    actor = Actor(role="doctor", clock=Clock(), account_id=1, ip="127.0.0.1", request_id="bench")
    async with engine.begin() as connection:
        await connection.run_sync(floor_table.create, checkfirst=True)

    started = time.perf_counter()
    for n in range(count):
        async with factory() as session, session.begin():
            await session.execute(
                insert(floor_table).values(action="patient.read", subject_id=str(n), details="{}")
            )
    floor = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for n in range(count):
        async with factory() as session, session.begin():
            await record(
                session, actor, action="patient.read", subject_type="patient", subject_id=n
            )
    appended = count / (time.perf_counter() - started)

    started = time.perf_counter()
    while True:
        async with factory() as session, session.begin():
            if await seal_pending(session, actor.clock) < SEAL_BATCH:
                break
    seal_rate = count / (time.perf_counter() - started)

    started = time.perf_counter()
    async with factory() as session:
        result = await verify_chain(session, actor.clock)
    verify_rate = result.checked / (time.perf_counter() - started)

    async with engine.begin() as connection:
        await connection.run_sync(floor_table.drop)
    await engine.dispose()
    print(f"database: {engine.dialect.name}, {count} appends, one transaction each")
    share = appended / floor
    print(f"floor   plain insert:       {floor:8.0f} per second")
    print(f"figure  audit append:       {appended:8.0f} per second ({share:.0%} of floor)")
    print(f"figure  sealing:            {seal_rate:8.0f} entries per second")
    print(f"figure  chain verification: {verify_rate:8.0f} entries per second ({result.checked})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        asyncio.run(run(url, args.count))


if __name__ == "__main__":
    main()
