"""The books a sandbox keeps: the simulated payment provider's, insurance platform's,
carriers' and provincial supervision platform's own database, apart from ours.

A sandbox plays an outside party, so its records must behave like one's: they survive our
rollbacks (each call is a transaction of its own) and every process that opens the same
database (``ihospital serve``, ``ihospital worker``, a restarted ``ihospital demo``) sees them.
A database apart also keeps SQLite's single writer free, since the app calls a sandbox while
its own transaction is open.

By default each sandbox has an SQLite file in the data directory; with
``IHOSPITAL_SANDBOX_DATABASE_URL`` every sandbox keeps its tables (distinct names) in that
database. Each sandbox derives an abstract base from :class:`SandboxBase` with a MetaData of its
own, so it creates only its own tables, on first use.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import MetaData, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

from ihospital.config import Settings
from ihospital.db import UTCDateTime, make_engine, make_sessionmaker


class SandboxBase(DeclarativeBase):
    """The base of the sandboxes' tables: not ours, so neither our migrations nor our schema
    checks see them. Times are aware UTC, as in our tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


PAYMENT_BOOKS_FILE = "payment-sandbox.db"
INSURANCE_BOOKS_FILE = "insurance-sandbox.db"
CARRIER_BOOKS_FILE = "carrier-sandbox.db"
PROVINCIAL_BOOKS_FILE = "provincial-sandbox.db"


def books_files(settings: Settings) -> list[Path]:
    """The SQLite files the sandboxes keep in the data directory (none when they use
    ``IHOSPITAL_SANDBOX_DATABASE_URL``), with their journals: what a fresh start deletes."""
    if settings.sandbox_database_url:
        return []
    return [
        settings.data_dir / f"{name}{suffix}"
        for name in (
            PAYMENT_BOOKS_FILE,
            INSURANCE_BOOKS_FILE,
            CARRIER_BOOKS_FILE,
            PROVINCIAL_BOOKS_FILE,
        )
        for suffix in ("", "-wal", "-shm")
    ]


def books_url(settings: Settings, file_name: str) -> str:
    """Where a sandbox keeps its books: ``IHOSPITAL_SANDBOX_DATABASE_URL`` when set, else the
    SQLite file ``file_name`` in the data directory."""
    if settings.sandbox_database_url:
        return settings.sandbox_database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{settings.data_dir / file_name}"


class SandboxBooks:
    """A sandbox's database: its own engine and transactions, its tables made on first use.

    No pool: each call opens a connection and closes it, so an instance holds nothing between
    calls and needs no closing (the app, the worker and the tests make them freely)."""

    def __init__(self, database_url: str, metadata: MetaData) -> None:
        self._engine = make_engine(database_url, poolclass=NullPool)
        self._sessions = make_sessionmaker(self._engine)
        self._metadata = metadata
        self._schema_ready = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction on the books, committed when the block succeeds."""
        if not self._schema_ready:
            async with self._engine.begin() as connection:
                await _serialise_schema_changes(connection)
                await connection.run_sync(self._metadata.create_all)
            self._schema_ready = True
        async with self._sessions.begin() as session:
            yield session


async def _serialise_schema_changes(connection: AsyncConnection) -> None:
    """On PostgreSQL, two first calls at once (two processes, or two tasks of one) would both
    find a table missing and both create it; one waits for the other here instead. SQLite
    already takes its write lock when the transaction begins."""
    if connection.dialect.name == "postgresql":
        await connection.execute(select(func.pg_advisory_xact_lock(zlib.crc32(b"sandbox-books"))))
