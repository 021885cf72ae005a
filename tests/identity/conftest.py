from pathlib import Path

import pytest

from ihospital.config import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The sandbox SMS gateway keeps what it sends, so tests can read the codes."""
    return make_settings(tmp_path, sms_sender="sandbox")
