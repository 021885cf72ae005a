"""Fixtures of the billing tests."""

import pytest

from tests.billing.builders import sandbox_url
from tests.conftest import BACKEND


@pytest.fixture
async def books_url(databases) -> str:
    """A database for a sandbox's books, on the backend under test."""
    return await databases.fresh() if BACKEND == "postgresql" else sandbox_url()
