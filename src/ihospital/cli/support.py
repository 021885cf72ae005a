"""What the commands share: one-line errors, the command line's language, database checks and
running uvicorn."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from ihospital.config import Settings
from ihospital.core.collector import settle_collector
from ihospital.core.i18n import normalise_language, translate


def _language() -> str:
    """The command line speaks the language of the locale (LANG=zh_CN.UTF-8), else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if found := normalise_language(os.environ.get(name)):
            return found
    return "en"


LANGUAGE = _language()


def _(message: str, **fields: object) -> str:
    return translate(message, LANGUAGE, **fields)


class CliError(Exception):
    """A mistake of the user or of the setup, told in one line."""


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file of an SQLite database URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


async def _schema_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from ihospital.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    from ihospital.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def require_schema(url: str) -> None:
    """Refuse a database that is missing or not migrated to this version (instead of failing on
    the first query). A missing SQLite file is not created."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise CliError(
            _("There is no database at {path}. Create it with: ihospital db upgrade", path=path)
        )
    current, head = asyncio.run(_schema_revision(url)), head_revision(url)
    if current is None:
        raise CliError(_("The database has no schema yet. Create it with: ihospital db upgrade"))
    if current != head:
        raise CliError(
            _(
                "The database schema is at revision {current}; this version needs {head}. "
                "Run: ihospital db upgrade",
                current=current,
                head=head,
            )
        )


def upgrade_database(url: str) -> None:
    """Migrate to the latest schema, creating the SQLite file's folder if needed."""
    from ihospital.migrate import upgrade

    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)


def check_port(host: str, port: int) -> None:
    """Fail early, in one line, when the address cannot be listened on."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise CliError(
            _(
                "Cannot listen on {host}:{port} ({reason}). Is ihospital already running? "
                "Choose another port with --port.",
                host=host,
                port=port,
                reason=exc.strerror or exc,
            )
        ) from None


def configure_logs(settings: Settings, *, json_logs: bool | None = None) -> None:
    from ihospital.core.observability import configure_logging

    configure_logging(settings.log_level, settings.log_json if json_logs is None else json_logs)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the start-up schema check


# An idle keep-alive connection is kept longer than the peer keeps it (a load balancer's or
# nginx's upstream connections: typically 60 s; a client library such as httpx: 5 s), so that
# the peer, not the server, closes it: when the server closes first (uvicorn's default is 5 s),
# a request the peer sends on the connection at that moment is lost to a reset, with no answer.
KEEP_ALIVE_SECONDS = 75
# Connections waiting to be accepted (uvicorn's default is 2048): at 放号 thousands of phones
# connect within a second. The kernel caps it at net.core.somaxconn (4096 by default).
LISTEN_BACKLOG = 4096


def uvicorn_options(frame_limit: int) -> dict[str, Any]:
    """The options ``ihospital serve`` gives uvicorn beyond the app, host and port (the bench
    serves the app with the same ones)."""
    return {
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "backlog": LISTEN_BACKLOG,
        # A frame over the app's limit gets its error frame; one 16 times over ends the
        # connection (1009) before it is read whole. No per-message compression: it costs each
        # idle connection a compressor's memory.
        "ws_max_size": 16 * frame_limit,
        "ws_per_message_deflate": False,
    }


def serve(app: Any, host: str, port: int, on_started: Callable[[], None]) -> None:
    """Run uvicorn until Ctrl+C or SIGTERM; ``on_started`` runs once it listens."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                self.collector_pacing = settle_collector(app.state.metrics)
                on_started()

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        **uvicorn_options(app.state.settings.ws_max_frame_bytes),
    )
    server = Server(config)
    try:
        asyncio.run(server.serve())
    except KeyboardInterrupt:
        # uvicorn raises the Ctrl+C again once it has shut down; a stop asked for is a clean exit.
        if not server.should_exit:
            raise
