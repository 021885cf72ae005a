"""The ``ihospital`` command (also ``python -m ihospital``).

``serve`` runs the web app, ``worker`` drains the outbox, ``demo`` runs both in one process on the
embedded database, ``db upgrade`` migrates, ``audit verify`` walks the audit chain, ``files
sweep`` deletes orphaned objects, ``drugs import`` imports the drug catalogue and ``createuser``
adds an account. Settings come from
``IHOSPITAL_*`` variables. A mistake of the user (a bad option, a taken mobile number, a database
that is not there) ends with one line on stderr and a non-zero exit, never a traceback. The
commands' modules are imported only once the arguments are parsed, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from ihospital.cli.support import LANGUAGE, CliError, _
from ihospital.config import get_settings
from ihospital.core.i18n import translate
from ihospital.errors import AppError
from ihospital.identity.models import ROLES

PROG = "ihospital"


def _whole_number(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                _(
                    "{value} is not a whole number from {low} to {high}",
                    value=text,
                    low=low,
                    high=high,
                )
            )
        return value

    return parse


PORT = _whole_number(1, 65535)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_("ihospital, the open-source internet hospital platform."),
        epilog=_("Settings are read from IHOSPITAL_* environment variables."),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help=_("run the web application"), description=_("Run the web application.")
    )
    serve.add_argument("--host", help=_("address to listen on (default: IHOSPITAL_HOST)"))
    serve.add_argument("--port", type=PORT, help=_("port to listen on (default: IHOSPITAL_PORT)"))
    serve.add_argument(
        "--with-worker",
        action="store_true",
        help=_("also drain the outbox in this process (small installations)"),
    )

    worker = commands.add_parser(
        "worker",
        help=_("drain the outbox (deferred work and events)"),
        description=_(
            "Drain the outbox until stopped with Ctrl+C or SIGTERM. Several workers may run "
            "at once on PostgreSQL."
        ),
    )
    worker.add_argument(
        "--concurrency",
        type=_whole_number(1, 64),
        default=1,
        help=_("worker loops in this process (default: 1)"),
    )

    db = commands.add_parser("db", help=_("manage the database schema"))
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_commands.add_parser(
        "upgrade",
        help=_("migrate the database to the latest schema"),
        description=_("Migrate the database to the latest schema, creating it if needed."),
    )

    audit = commands.add_parser("audit", help=_("check the audit log"))
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = audit_commands.add_parser(
        "verify",
        help=_("verify the audit log's hash chain"),
        description=_(
            "Seal the entries written since the last sealing, then walk the audit log in "
            "order; exit 0 when intact, 1 naming the first entry that was edited, deleted or "
            "reordered, or when entries were left unsealed for longer than the sealing window."
        ),
    )
    verify.add_argument(
        "--seal-late",
        action="store_true",
        help=_(
            "also seal the entries left unsealed for longer than the sealing window (after "
            "the workers were down), once you have checked them; this is recorded"
        ),
    )

    files = commands.add_parser("files", help=_("look after the stored files"))
    files_commands = files.add_subparsers(dest="files_command", required=True, metavar="COMMAND")
    sweep = files_commands.add_parser(
        "sweep",
        help=_("delete stored objects that no file names"),
        description=_(
            "Delete the objects in the object store that no stored file names (left by an "
            "upload whose process stopped before its transaction ended) and that are older "
            "than the grace period."
        ),
    )
    sweep.add_argument(
        "--grace-minutes",
        type=_whole_number(10, 60 * 24 * 30),
        default=60,
        help=_("leave objects younger than this alone (default: 60)"),
    )

    drugs = commands.add_parser("drugs", help=_("manage the national drug catalogue"))
    drugs_commands = drugs.add_subparsers(dest="drugs_command", required=True, metavar="COMMAND")
    drugs_import = drugs_commands.add_parser(
        "import",
        help=_("import a drug catalogue CSV file"),
        description=_(
            "Import a drug catalogue CSV file (UTF-8 or GBK, the columns of the seed file "
            "prescribing/data/drugs.csv): new national codes are added, known ones updated. "
            "When any row is wrong, each bad value is printed with its line and column and "
            "nothing is imported."
        ),
    )
    drugs_import.add_argument("file", help=_("the CSV file"))

    createuser = commands.add_parser(
        "createuser",
        help=_("create an account"),
        description=_("Create an account. Without --password, the password is asked twice."),
    )
    createuser.add_argument("--mobile", required=True, help=_("11-digit mobile number"))
    createuser.add_argument("--role", required=True, choices=ROLES, help=_("the account's role"))
    createuser.add_argument("--name", required=True, help=_("display name"))
    createuser.add_argument(
        "--institution-id",
        type=_whole_number(1, 2**63 - 1),
        help=_("institution of a staff account (doctor, pharmacist, nurse, institution_admin)"),
    )
    createuser.add_argument("--password", help=_("password (asked for when left out)"))

    demo = commands.add_parser(
        "demo",
        help=_("try ihospital on this machine"),
        description=_(
            "Run the web application and the outbox worker in one process on the embedded "
            "database, with demo data on first run."
        ),
    )
    demo.add_argument("--reset", action="store_true", help=_("delete the demo database first"))
    demo.add_argument("--host", help=_("address to listen on (default: IHOSPITAL_HOST)"))
    demo.add_argument("--port", type=PORT, help=_("port to listen on (default: IHOSPITAL_PORT)"))
    return parser


def _command_name(args: argparse.Namespace) -> str:
    return " ".join(
        part
        for part in (
            args.command,
            getattr(args, "db_command", ""),
            getattr(args, "audit_command", ""),
            getattr(args, "files_command", ""),
            getattr(args, "drugs_command", ""),
        )
        if part
    )


def _dispatch(args: argparse.Namespace) -> int:
    from ihospital.cli import commands, demo

    handlers = {
        "serve": commands.cmd_serve,
        "worker": commands.cmd_worker,
        "db upgrade": commands.cmd_db_upgrade,
        "audit verify": commands.cmd_audit_verify,
        "files sweep": commands.cmd_files_sweep,
        "drugs import": commands.cmd_drugs_import,
        "createuser": commands.cmd_createuser,
        "demo": demo.cmd_demo,
    }
    return handlers[_command_name(args)](args)


def _database() -> str:
    from ihospital.cli.support import safe_url

    try:
        return safe_url(get_settings().effective_database_url())
    except (ValidationError, ValueError):
        return "?"


def _fail(message: str) -> int:
    print(f"{PROG}: {_('error')}: {message}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except CliError as exc:
        return _fail(str(exc))
    except AppError as exc:
        return _fail(translate(exc.message, LANGUAGE, **exc.fields))
    except ValidationError as exc:
        error = exc.errors()[0]
        setting = "IHOSPITAL_" + "_".join(str(part) for part in error["loc"]).upper()
        return _fail(
            _("The setting {name} is not valid: {reason}", name=setting, reason=error["msg"])
        )
    except (DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return _fail(
            _("The database {url} cannot be used: {reason}", url=_database(), reason=reason)
        )
    except KeyboardInterrupt:
        return 130
