"""Fixtures of the pharmacy delivery tests: the sandbox carriers keep their books like the
payment sandbox's (tests/billing/conftest.py)."""

import pytest

from tests.billing.builders import sandbox
from tests.billing.conftest import books_url, postgresql_books  # noqa: F401
from tests.directory.builders import make_institution
from tests.identity.builders import make_account
from tests.pharmacy.builders import carriers_for
from tests.pharmacy.delivery_builders import Outside


@pytest.fixture
def carriers(tmp_path, clock, books_url):  # noqa: ANN001, ANN201, F811
    return carriers_for(tmp_path, clock, books_url)


@pytest.fixture
def outside(carriers, clock):  # noqa: ANN001, ANN201
    """The carriers and the payment sandbox."""
    return Outside(carriers, sandbox(clock))


@pytest.fixture
async def institution(session, clock):  # noqa: ANN001, ANN201
    return await make_institution(session, clock=clock)


@pytest.fixture
async def pharmacist_account(session, clock, institution):  # noqa: ANN001, ANN201
    return await make_account(
        session, role="pharmacist", institution_id=institution.id, clock=clock
    )
