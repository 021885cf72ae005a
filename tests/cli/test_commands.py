"""The ``ihospital`` command as an operator runs it: real processes on a real database."""

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from ihospital.audit.chain import SEAL_WITHIN, verify_chain
from ihospital.cli.demo import reset_demo
from ihospital.cli.support import CliError
from ihospital.core.clock import Clock, FrozenClock, to_local
from ihospital.db import make_engine, make_sessionmaker
from tests.audit.support import append, tamper
from tests.conftest import BACKEND, TEST_INDEX_KEY, TEST_KEY, make_settings

REPO = Path(__file__).resolve().parents[2]


def _env(url: str, data_dir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("IHOSPITAL_") and key not in ("LC_ALL", "LC_MESSAGES")
    }
    env.update(
        IHOSPITAL_DATA_DIR=str(data_dir),
        IHOSPITAL_FIELD_KEY=TEST_KEY,
        IHOSPITAL_BLIND_INDEX_KEY=TEST_INDEX_KEY,
        IHOSPITAL_LOG_JSON="false",
        LANG="C.UTF-8",
    )
    if url:
        env["IHOSPITAL_DATABASE_URL"] = url
    return env


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "ihospital", *args],
        env=env,
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
async def cli_env(databases, tmp_path):
    url = await databases.fresh()
    return _env(url, tmp_path)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_db_upgrade_on_an_empty_sqlite_file_then_again(tmp_path):
    env = _env("", tmp_path)
    first = run(env, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "ihospital.db").exists()
    again = run(env, "db", "upgrade")
    assert again.returncode == 0
    assert "latest schema" in again.stdout


async def test_createuser_then_a_duplicate_and_a_staff_without_institution(cli_env):
    created = run(
        cli_env, "createuser", "--mobile", "13812345678", "--role", "regulator",
        "--name", "监管员", "--password", "Strong-pass-1",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "138****5678" in created.stdout
    duplicate = run(
        cli_env, "createuser", "--mobile", "13812345678", "--role", "patient",
        "--name", "张三", "--password", "Strong-pass-1",
    )  # fmt: skip
    assert duplicate.returncode == 1
    assert "13812345678 is already registered" in duplicate.stderr
    staff = run(
        cli_env, "createuser", "--mobile", "13812345679", "--role", "doctor",
        "--name", "李医生", "--password", "Strong-pass-1",
    )  # fmt: skip
    assert staff.returncode == 1
    assert "must belong to an institution" in staff.stderr
    mismatch = run(
        cli_env, "createuser", "--mobile", "13812345670", "--role", "patient", "--name", "王五",
        stdin="Strong-pass-1\nOther-pass-2\n",
    )  # fmt: skip
    assert mismatch.returncode == 1


async def test_createuser_refuses_an_unknown_role_or_institution_and_a_patient_with_one(cli_env):
    role = run(
        cli_env, "createuser", "--mobile", "13812345678", "--role", "surgeon",
        "--name", "王五", "--password", "Strong-pass-1",
    )  # fmt: skip
    assert role.returncode == 2
    assert "invalid choice: 'surgeon'" in role.stderr
    institution = run(
        cli_env, "createuser", "--mobile", "13812345678", "--role", "nurse",
        "--name", "刘护士", "--institution-id", "999", "--password", "Strong-pass-1",
    )  # fmt: skip
    assert institution.returncode == 1
    assert "institution does not exist" in institution.stderr
    patient = run(
        cli_env, "createuser", "--mobile", "13812345678", "--role", "patient",
        "--name", "王五", "--institution-id", "1", "--password", "Strong-pass-1",
    )  # fmt: skip
    assert patient.returncode == 1
    assert "--institution-id" in patient.stderr
    assert run(cli_env, "audit", "verify").stdout.startswith("OK: 0 entries")


async def test_audit_verify_passes_then_names_the_entry_edited_behind_the_apps_back(cli_env):
    run(
        cli_env, "createuser", "--mobile", "13812345678", "--role", "platform_admin",
        "--name", "管理员", "--password", "Strong-pass-1",
    )  # fmt: skip
    intact = run(cli_env, "audit", "verify")
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout == "OK: 1 entries\n"
    await tamper(
        cli_env["IHOSPITAL_DATABASE_URL"],
        "UPDATE audit_entries SET action = 'account.deleted'"
        " WHERE id = (SELECT entry_id FROM audit_seals WHERE seq = 1)",
    )
    tampered = run(cli_env, "audit", "verify")
    assert tampered.returncode == 1
    assert "audit entry 1" in tampered.stdout
    assert "edited" in tampered.stdout


async def test_audit_verify_names_entries_left_unsealed_until_they_are_sealed_late(cli_env):
    url = cli_env["IHOSPITAL_DATABASE_URL"]
    engine = make_engine(url)
    written = datetime.now(UTC) - SEAL_WITHIN - timedelta(minutes=5)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            entries = await append(session, FrozenClock(written), 2)
    finally:
        await engine.dispose()
    stranded = run(cli_env, "audit", "verify")
    assert stranded.returncode == 1
    assert stranded.stdout.startswith(
        f"FAILED: 2 audit entries were not sealed within 10 minutes, the oldest entry "
        f"{entries[0].id} written at {to_local(written):%Y-%m-%d %H:%M:%S}"
    )
    assert "--seal-late" in stranded.stdout
    sealed = run(cli_env, "audit", "verify", "--seal-late")
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    assert sealed.stdout == "OK: 3 entries\n"  # and the late sealing's own record


async def test_worker_seals_the_audit_trail_and_stops_cleanly_on_sigterm(cli_env):
    engine = make_engine(cli_env["IHOSPITAL_DATABASE_URL"])
    factory = make_sessionmaker(engine)
    process = subprocess.Popen(  # noqa: S603, ASYNC220
        [sys.executable, "-m", "ihospital", "worker"],
        env=cli_env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "outbox worker started" in line or not line:
                break
        assert "outbox worker started" in "".join(lines)
        async with factory() as session, session.begin():
            await append(session, Clock(), 2)
        async with asyncio.timeout(30):
            while True:
                async with factory() as session:
                    if (await verify_chain(session, Clock())).checked == 2:
                        break
                await asyncio.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()
        await engine.dispose()


@pytest.fixture
def busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


async def test_serve_on_a_busy_port_says_so(cli_env, busy_port):
    result = run(cli_env, "serve", "--port", str(busy_port))
    assert result.returncode == 1
    assert f"127.0.0.1:{busy_port}" in result.stderr
    assert "--port" in result.stderr


def test_demo_on_a_busy_port_says_so_before_deleting_anything(tmp_path, busy_port):
    database = tmp_path / "ihospital.db"
    database.write_bytes(b"kept")
    result = run(_env("", tmp_path), "demo", "--reset", "--port", str(busy_port))
    assert result.returncode == 1
    assert f"127.0.0.1:{busy_port}" in result.stderr
    assert database.read_bytes() == b"kept"


def test_reset_demo_deletes_the_database_its_journal_the_logins_and_sandboxes_only(
    tmp_path, capsys
):
    doomed = [
        tmp_path / name
        for name in (
            "ihospital.db",
            "ihospital.db-wal",
            "ihospital.db-shm",
            "demo-logins.json",
            "payment-sandbox.db",
            "insurance-sandbox.db-wal",
        )
    ]
    for path in (*doomed, tmp_path / "secrets.json"):
        path.write_text("{}")
    reset_demo(make_settings(tmp_path))
    assert [path for path in doomed if path.exists()] == []
    assert (tmp_path / "secrets.json").exists()
    assert str(doomed[0]) in capsys.readouterr().out


def test_reset_demo_refuses_a_database_that_is_not_an_sqlite_file(tmp_path):
    settings = make_settings(tmp_path, "postgresql+asyncpg://ops:s3cret@db.example/ihospital")
    with pytest.raises(CliError, match="--reset") as refused:
        reset_demo(settings)
    assert "db.example" in str(refused.value)
    assert "s3cret" not in str(refused.value)


def _accounts(data_dir: Path) -> int:
    with closing(sqlite3.connect(data_dir / "ihospital.db")) as connection:
        return connection.execute("SELECT count(*) FROM accounts").fetchone()[0]


@pytest.mark.skipif(BACKEND != "sqlite", reason="the demo runs on the embedded SQLite database")
def test_demo_starts_prints_logins_keeps_its_data_and_resets(tmp_path):
    env = _env("", tmp_path)

    def start(*extra: str) -> tuple[subprocess.Popen[str], str, list[str]]:
        port = _free_port()
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "ihospital", "demo", "--port", str(port), *extra],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        output: list[str] = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output.append(line)
            if "Ctrl+C" in line or not line:
                break
        return process, f"http://127.0.0.1:{port}", output

    def stop(process: subprocess.Popen[str]) -> None:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=30) == 0
        finally:
            process.kill()
            process.wait()

    process, url, output = start()
    try:
        printed = "".join(output)
        assert f"ihospital demo is running at {url}" in printed
        assert f"demo accounts are listed in {tmp_path / 'demo-logins.json'}" in printed
        patient = next(line.split() for line in output if line.strip().startswith("patient "))
        _, mobile, password, *_ = patient
        assert httpx.get(f"{url}/healthz").status_code == 200
        token = httpx.post(f"{url}/api/auth/token", json={"mobile": mobile, "password": password})
        assert token.status_code == 200, token.text
        family = httpx.get(
            f"{url}/api/patients",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert family.status_code == 200
        assert len(family.json()) == 3
        assert httpx.get(f"{url}/api/doctors", params={"page_size": 1}).json()["total"] >= 30
    finally:
        stop(process)
    loaded = _accounts(tmp_path)
    extra = run(
        env, "createuser", "--mobile", "13812345678", "--role", "patient",
        "--name", "张三", "--password", "Strong-pass-1",
    )  # fmt: skip
    assert extra.returncode == 0, extra.stderr

    process, url, output = start()
    try:
        assert "Demo logins" in "".join(output)
        assert any(mobile in line for line in output)
    finally:
        stop(process)
    assert _accounts(tmp_path) == loaded + 1

    process, url, output = start("--reset")
    try:
        printed = "".join(output)
        assert "Deleted the demo database" in printed
        assert "Demo logins" in printed
    finally:
        stop(process)
    assert _accounts(tmp_path) == loaded
