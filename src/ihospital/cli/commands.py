"""``serve``, ``worker``, ``db upgrade``, ``audit verify``, ``files sweep``, ``drugs import``
and ``createuser``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from contextlib import suppress
from datetime import timedelta

from ihospital.app import create_app
from ihospital.audit.chain import SEAL_WITHIN, VerifyResult, seal_all, verify_chain
from ihospital.audit.service import seal_late
from ihospital.cli.support import (
    LANGUAGE,
    CliError,
    _,
    check_port,
    configure_logs,
    head_revision,
    require_schema,
    safe_url,
    serve,
    upgrade_database,
)
from ihospital.config import get_settings
from ihospital.core.clock import Clock, to_local
from ihospital.core.context import Actor
from ihospital.db import make_engine, make_sessionmaker
from ihospital.directory.institutions import get_institution
from ihospital.files.storage import make_object_store
from ihospital.files.sweep import sweep_orphans
from ihospital.identity.accounts import STAFF_ROLES, create_account, mask_mobile
from ihospital.identity.models import Account
from ihospital.outbox.runner import run_standalone
from ihospital.outbox.service import load_handlers
from ihospital.prescribing.catalogue import ImportResult, import_drugs
from ihospital.prescribing.catalogue_import import CatalogueRejected

log = logging.getLogger("ihospital.cli")


def cmd_serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    host, port = args.host or settings.host, args.port or settings.port
    configure_logs(settings)
    require_schema(settings.effective_database_url())
    check_port(host, port)
    app = create_app(settings, worker=args.with_worker)
    url = f"http://{host}:{port}"
    serve(app, host, port, lambda: print(_("ihospital is serving at {url}", url=url), flush=True))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = get_settings()
    configure_logs(settings)
    require_schema(settings.effective_database_url())
    try:
        load_handlers(settings.worker_modules)
    except ImportError as exc:
        raise CliError(_("Cannot load the outbox handlers: {reason}", reason=exc)) from None

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with suppress(NotImplementedError):  # Windows' event loop has no signal handlers
                loop.add_signal_handler(sig, stop.set)
        log.info("outbox worker started", extra={"concurrency": args.concurrency})
        await run_standalone(settings, concurrency=args.concurrency, stop=stop)
        log.info("outbox worker stopped")

    asyncio.run(run())
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    url = get_settings().effective_database_url()
    upgrade_database(url)
    print(
        _(
            "The database {url} has the latest schema (revision {revision}).",
            url=safe_url(url),
            revision=head_revision(url),
        )
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    url = get_settings().effective_database_url()
    require_schema(url)
    clock = Clock()

    async def verify() -> VerifyResult:
        engine = make_engine(url)
        try:
            factory = make_sessionmaker(engine)
            async with factory() as session, session.begin():
                if args.seal_late:
                    await seal_late(session, Actor.system(clock, request_id="cli-audit-verify"))
                await seal_all(session, clock)
            async with factory() as session:
                return await verify_chain(session, clock)
        finally:
            await engine.dispose()

    result = asyncio.run(verify())
    if result.ok:
        print(_("OK: {count} entries", count=result.checked))
        if result.unsealed:
            print(_("{count} newer entries are not sealed yet.", count=result.unsealed))
        return 0
    if result.first_bad_seq is not None:
        print(
            _(
                "FAILED: audit entry {seq}: {reason}. The {count} entries before it are intact.",
                seq=result.first_bad_seq,
                reason=result.reason,
                count=result.checked,
            )
        )
        return 1
    assert result.oldest_unsealed_at is not None
    print(
        _(
            "FAILED: {late} audit entries were not sealed within {minutes} minutes, the oldest "
            "entry {id} written at {time}: the sealer is not running (is an ihospital worker "
            "running?) or their seals were removed. The {count} sealed entries are intact. "
            "Once you have checked the late entries, seal them with "
            "`ihospital audit verify --seal-late`.",
            late=result.late,
            minutes=SEAL_WITHIN.seconds // 60,
            id=result.oldest_unsealed_id,
            time=to_local(result.oldest_unsealed_at).strftime("%Y-%m-%d %H:%M:%S"),
            count=result.checked,
        )
    )
    return 1


def cmd_files_sweep(args: argparse.Namespace) -> int:
    settings = get_settings()
    url = settings.effective_database_url()
    require_schema(url)
    clock = Clock()

    async def sweep() -> int:
        engine = make_engine(url)
        store = make_object_store(settings, clock)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await sweep_orphans(
                    session,
                    Actor.system(clock, request_id="cli-files-sweep"),
                    store=store,
                    grace=timedelta(minutes=args.grace_minutes),
                )
        finally:
            await store.close()
            await engine.dispose()

    print(_("Deleted {count} orphaned objects.", count=asyncio.run(sweep())))
    return 0


def cmd_drugs_import(args: argparse.Namespace) -> int:
    url = get_settings().effective_database_url()
    require_schema(url)
    try:
        with open(args.file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CliError(
            _("Cannot read {path}: {reason}", path=args.file, reason=exc.strerror)
        ) from None

    async def run() -> ImportResult:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                actor = Actor.system(Clock(), request_id="cli-drugs-import")
                return await import_drugs(session, actor, data=data)
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(run())
    except CatalogueRejected as rejected:
        for error in rejected.errors:
            problem = error.as_problem(LANGUAGE)
            print(
                _(
                    "line {line}, column {column}: {problem}",
                    line=problem["line"],
                    column=problem["column"] or "-",
                    problem=problem["message"],
                ),
                file=sys.stderr,
            )
        raise CliError(_(rejected.message, **rejected.fields)) from None
    print(
        _(
            "Imported {total} drugs: {created} new, {updated} changed, {unchanged} unchanged.",
            total=result.total,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
        )
    )
    return 0


def _read_password() -> str:
    first = getpass.getpass(_("Password: "))
    if getpass.getpass(_("Repeat the password: ")) != first:
        raise CliError(_("The two passwords differ."))
    return first


def cmd_createuser(args: argparse.Namespace) -> int:
    if args.institution_id is not None and args.role not in STAFF_ROLES:
        raise CliError(
            _(
                "Only staff accounts ({roles}) belong to an institution; leave out "
                "--institution-id for the role {role}.",
                roles=", ".join(sorted(STAFF_ROLES)),
                role=args.role,
            )
        )
    url = get_settings().effective_database_url()
    require_schema(url)
    password = args.password if args.password is not None else _read_password()

    async def create() -> Account:
        actor = Actor.system(Clock(), request_id="cli-createuser")
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                if args.institution_id is not None:
                    await get_institution(session, actor, institution_id=args.institution_id)
                return await create_account(
                    session,
                    actor,
                    mobile=args.mobile,
                    password=password,
                    role=args.role,
                    display_name=args.name,
                    institution_id=args.institution_id,
                )
        finally:
            await engine.dispose()

    account = asyncio.run(create())
    print(
        _(
            "Created account {id}: {name} ({role}), mobile {mobile}.",
            id=account.id,
            name=account.display_name,
            role=account.role,
            mobile=mask_mobile(account.mobile),
        )
    )
    return 0
