"""``ihospital drugs import FILE`` as an operator runs it: the row errors printed, nothing
imported from a bad file; a good file imported and counted."""

from __future__ import annotations

import sqlite3

import pytest

from ihospital.db import make_engine
from tests.cli.test_commands import _env, run
from tests.conftest import BACKEND
from tests.prescribing.catalogue_csv import NEW_CODE, csv_text, new_row


@pytest.fixture
async def cli(databases, tmp_path):
    url = await databases.fresh()
    return url, _env(url, tmp_path)


async def _has_new_code(url: str) -> bool:
    if BACKEND == "sqlite":
        with sqlite3.connect(url.split("///", 1)[1]) as connection:
            row = connection.execute("SELECT 1 FROM drugs WHERE code = ?", (NEW_CODE,)).fetchone()
        return row is not None
    from sqlalchemy import text

    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT 1 FROM drugs WHERE code = :code"), {"code": NEW_CODE}
            )
    finally:
        await engine.dispose()
    return found is not None


async def test_a_bad_file_prints_each_row_error_and_imports_nothing(cli, tmp_path):
    url, env = cli
    bad = tmp_path / "bad.csv"
    rows = [new_row(), new_row(code="XC08CAA027A001990199998", strength_value="abc")]
    bad.write_text(csv_text(rows), encoding="utf-8")
    result = run(env, "drugs", "import", str(bad))
    assert result.returncode == 1
    assert "line 3, column strength_value: abc is not a number above 0" in result.stderr
    assert "The file has 1 errors; nothing was imported." in result.stderr
    assert not await _has_new_code(url)


async def test_a_good_file_is_imported(cli, tmp_path):
    url, env = cli
    good = tmp_path / "good.csv"
    good.write_bytes(csv_text([new_row()]).encode("gbk"))
    result = run(env, "drugs", "import", str(good))
    assert result.returncode == 0, result.stderr
    assert "Imported 1 drugs: 1 new, 0 changed, 0 unchanged." in result.stdout
    assert await _has_new_code(url)
    missing = run(env, "drugs", "import", str(tmp_path / "none.csv"))
    assert missing.returncode == 1 and "Cannot read" in missing.stderr
