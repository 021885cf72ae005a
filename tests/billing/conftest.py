"""Fixtures of the billing tests."""

import pytest

from ihospital.billing.insurance.platform import SandboxInsurancePlatform


@pytest.fixture
def platform() -> SandboxInsurancePlatform:
    """The insurance platform's sandbox, for the test alone."""
    return SandboxInsurancePlatform()
