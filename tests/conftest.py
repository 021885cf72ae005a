"""Test harness: a migrated database per xdist worker, a rolled-back transaction per test.

The database is PostgreSQL when ``IHOSPITAL_TEST_DATABASE_URL`` is set (CI), else an SQLite file.
It is built with Alembic, never ``create_all``. Each test's work runs inside one outer transaction
that is rolled back; the app's own commits become savepoint releases inside it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import hypothesis
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ihospital.app import create_app
from ihospital.config import Settings
from ihospital.core.clock import FrozenClock
from ihospital.db import async_driver_url, make_engine
from ihospital.migrate import upgrade
from ihospital.security import passwords

TEST_KEY = base64.b64encode(b"k" * 32).decode()
TEST_INDEX_KEY = base64.b64encode(b"i" * 32).decode()
TEST_PAYMENT_KEY = base64.b64encode(b"p" * 32).decode()
TEST_CARRIER_KEY = base64.b64encode(b"c" * 32).decode()
TEST_PROVINCIAL_KEY = base64.b64encode(b"r" * 32).decode()
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai

# Property tests check behaviour, never speed: on a loaded machine (several test processes at
# a time) Hypothesis's own timing checks would fail tests whose code is correct.
hypothesis.settings.register_profile(
    "ihospital", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("ihospital")


# Argon2id at its lowest cost in tests: the suite creates thousands of accounts, and the
# production cost (64 MiB, 3 passes each) would spend a large part of the run hashing. The
# algorithm and every code path stay the same.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
passwords._DUMMY_HASH = passwords._hasher.hash("not-a-real-password")

PG_URL = async_driver_url(os.environ.get("IHOSPITAL_TEST_DATABASE_URL", ""))
BACKEND = "postgresql" if PG_URL else "sqlite"


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _pg_admin(statement: str) -> None:
    engine = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


class TestDatabases:
    """Creates migrated databases for this worker and removes them at the end."""

    def __init__(self, tmp_root: Path) -> None:
        self.tmp_root = tmp_root
        self.created: list[str] = []
        self.template_url = ""

    async def template(self) -> str:
        """The migrated database that others are copied from; nothing stays connected to it."""
        if not self.template_url:
            self.template_url = await self._create(migrate=True)
        return self.template_url

    async def fresh(self) -> str:
        """A new database copied from the migrated template (for tests that really commit)."""
        template = await self.template()
        if BACKEND == "sqlite":
            path = self.tmp_root / f"copy-{uuid.uuid4().hex[:8]}.db"
            shutil.copy(template.split("///", 1)[1], path)
            return f"sqlite+aiosqlite:///{path}"
        name = f"ihospital_t_{uuid.uuid4().hex[:12]}"
        template_name = template.rsplit("/", 1)[1]
        await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
        self.created.append(name)
        return _with_database(PG_URL, name)

    async def _create(self, *, migrate: bool) -> str:
        if BACKEND == "sqlite":
            url = f"sqlite+aiosqlite:///{self.tmp_root / 'template.db'}"
        else:
            name = f"ihospital_t_{uuid.uuid4().hex[:12]}"
            await _pg_admin(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            url = _with_database(PG_URL, name)
        if migrate:
            await asyncio.to_thread(upgrade, url)
        return url

    async def drop_all(self) -> None:
        for name in self.created:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TestDatabases]:
    dbs = TestDatabases(tmp_path_factory.mktemp("db"))
    yield dbs
    await dbs.drop_all()


@pytest.fixture(scope="session")
async def engine(databases: TestDatabases) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(await databases.fresh())
    yield engine
    await engine.dispose()


def make_settings(tmp_path: Path, database_url: str = "", **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "data_dir": tmp_path,
        "database_url": database_url,
        "secret_key": "test-secret-key-0123456789abcdef",
        "field_key": TEST_KEY,
        "blind_index_key": TEST_INDEX_KEY,
        "payment_sandbox_key": TEST_PAYMENT_KEY,
        "carrier_sandbox_key": TEST_CARRIER_KEY,
        "provincial_app_secret": TEST_PROVINCIAL_KEY,
        "log_json": False,
        "sms_sender": "log",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def session_factory(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that join one outer transaction, rolled back after the test."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        factory = async_sessionmaker(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            autoflush=False,
        )
        try:
            yield factory
        finally:
            if outer.is_active:
                await outer.rollback()


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, engine: AsyncEngine, session_factory):  # noqa: ANN001, ANN201
    application = create_app(settings, clock=clock, engine=engine)
    application.state.sessionmaker = session_factory
    return application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client
