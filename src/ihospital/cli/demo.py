"""``ihospital demo``: everything in one process on the embedded database.

On every start the database is migrated; when it has no accounts yet, ``ihospital.demo`` fills it.
All the demo logins are kept in a file beside the database; one of each role is printed, on this
start and the later ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from ihospital.app import create_app
from ihospital.billing.sandbox_books import books_files
from ihospital.cli.support import (
    CliError,
    _,
    check_port,
    configure_logs,
    safe_url,
    serve,
    sqlite_path,
    upgrade_database,
)
from ihospital.config import Settings, get_settings
from ihospital.core.clock import Clock
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.demo import DemoLogin, load_demo_data
from ihospital.identity.accounts import count_accounts

LOGINS_FILE = "demo-logins.json"


@dataclass(frozen=True)
class DemoState:
    data: Literal["loaded", "existing"]
    logins: list[DemoLogin] = field(default_factory=list)


def _logins_path(settings: Settings) -> Path:
    return settings.data_dir / LOGINS_FILE


def _read_logins(settings: Settings) -> list[DemoLogin]:
    path = _logins_path(settings)
    if not path.exists():
        return []
    try:
        return [DemoLogin(**item) for item in json.loads(path.read_text(encoding="utf-8"))]
    except (ValueError, TypeError):
        return []


def _write_logins(settings: Settings, logins: list[DemoLogin]) -> None:
    path = _logins_path(settings)
    rows = ",\n".join(json.dumps(asdict(login), ensure_ascii=False) for login in logins)
    path.write_text(f"[\n{rows}\n]\n", encoding="utf-8")
    path.chmod(0o600)


async def load_demo(settings: Settings) -> DemoState:
    """Fill an empty database with the demo data."""
    engine = make_engine(settings.effective_database_url())
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            if await count_accounts(session):
                return DemoState("existing", _read_logins(settings))
            summary = await load_demo_data(
                session, Actor.system(Clock(), request_id="demo"), settings=settings
            )
    finally:
        await engine.dispose()
    _write_logins(settings, summary.logins)
    return DemoState("loaded", summary.logins)


def reset_demo(settings: Settings) -> None:
    """Delete the SQLite database file (and its journal), the remembered logins and the
    sandboxes' books (a fresh provider and insurance platform, as on a new machine)."""
    url = settings.effective_database_url()
    path = sqlite_path(url)
    if path is None:
        raise CliError(
            _(
                "--reset deletes an SQLite database file, but the database is {url}.",
                url=safe_url(url),
            )
        )
    leftovers = (path, Path(f"{path}-wal"), Path(f"{path}-shm"), _logins_path(settings))
    for leftover in (*leftovers, *books_files(settings)):
        leftover.unlink(missing_ok=True)
    print(_("Deleted the demo database {path}.", path=path))


def print_demo(settings: Settings, state: DemoState) -> None:
    lines = [
        "",
        _("ihospital demo is running at {url}", url=settings.base_url),
        _("Database: {url}", url=safe_url(settings.effective_database_url())),
    ]
    featured = [login for login in state.logins if login.featured]
    if featured:
        lines.append(_("Demo logins (mobile number and password):"))
        width = max(len(login.role) for login in featured)
        lines += [
            f"  {login.role:<{width}}  {login.mobile}  {login.password}  {login.name}"
            + (f" · {login.place}" if login.place else "")
            + (f"\n  {'':<{width}}  {settings.base_url}{login.start}" if login.start else "")
            for login in featured
        ]
        lines.append(
            _(
                "All {count} demo accounts are listed in {path}.",
                count=len(state.logins),
                path=_logins_path(settings),
            )
        )
    else:
        lines.append(_("Using the accounts already in the database."))
    lines += [_("Start afresh with: ihospital demo --reset"), _("Press Ctrl+C to stop."), ""]
    print("\n".join(lines), flush=True)


def cmd_demo(args: argparse.Namespace) -> int:
    # The demo speaks plain HTTP on this machine, so its cookies cannot be "Secure".
    configured = get_settings()
    host, port = args.host or configured.host, args.port or configured.port
    settings = configured.model_copy(
        update={
            "host": host,
            "port": port,
            "cookie_secure": False,
            "base_url": f"http://{host}:{port}",
        }
    )
    configure_logs(settings, json_logs=False)
    check_port(host, port)
    if args.reset:
        reset_demo(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.effective_database_url())
    state = asyncio.run(load_demo(settings))
    app = create_app(settings, worker=True)
    if app.state.provincial_sandbox is not None:  # the receiver of the reporting feed, to watch
        app.mount("/sandbox/provincial", app.state.provincial_sandbox.app)
    serve(app, host, port, lambda: print_demo(settings, state))
    return 0
