"""Fixtures of the billing tests."""

import pytest
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from ihospital.billing.insurance.platform import SandboxInsurancePlatform
from ihospital.billing.sandbox_books import SandboxBase
from ihospital.db import make_engine
from tests.billing.builders import insurance_sandbox, sandbox_url
from tests.conftest import BACKEND


@pytest.fixture(scope="session")
async def postgresql_books(databases) -> str | None:
    """On PostgreSQL, the one database of this test worker for sandboxes' books: a database
    per test would take longer to drop than its tests take to run."""
    return await databases.fresh() if BACKEND == "postgresql" else None


@pytest.fixture
async def books_url(postgresql_books) -> str:
    """Empty books for a sandbox, on the backend under test: a new SQLite file, or the
    worker's PostgreSQL database without the sandboxes' tables (made again on first use)."""
    if postgresql_books is None:
        return sandbox_url()
    engine = make_engine(postgresql_books, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            for mapper in SandboxBase.registry.mappers:
                await connection.execute(text(f'DROP TABLE IF EXISTS "{mapper.local_table.name}"'))
    finally:
        await engine.dispose()
    return postgresql_books


@pytest.fixture
def platform(books_url) -> SandboxInsurancePlatform:
    """The insurance platform's sandbox, with books of its own for the test."""
    return insurance_sandbox(database_url=books_url)
