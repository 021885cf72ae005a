"""audit seals apart from the entries

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 13:00:00

The links of the audit hash chain (seq, prev_hash, entry_hash) move from the entries to a table
of their own, written by the sealer, so that writing an entry needs no lock. Existing links move
unchanged (the hash formula is the same) and keep verifying. Seals are append-only like the
entries: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL). The entries get an
index on occurred_at, by which the sealer finds the recent unsealed ones.

On SQLite, dropping columns rebuilds audit_entries, which drops its triggers: they are created
again. The seal's foreign key is added once the entries are rebuilt, since SQLite cannot drop a
table that other rows still reference. Downgrading first seals whatever is not sealed yet (with
the same formula, frozen here), so every entry gets back a link.
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS_HASH = "0" * 64
LINK_COLUMNS = ("seq", "prev_hash", "entry_hash")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _sqlite_guards(table: str) -> None:
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def _drop_sqlite_guards(table: str) -> None:
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def upgrade() -> None:
    op.create_table(
        "audit_seals",
        sa.Column("seq", BigId, autoincrement=False, nullable=False),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_seals")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_audit_seals_entry_id")),
    )
    op.execute(
        "INSERT INTO audit_seals (seq, entry_id, prev_hash, entry_hash) "
        "SELECT seq, id, prev_hash, entry_hash FROM audit_entries"
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_entries_seq", type_="unique")
        for column in LINK_COLUMNS:
            batch_op.drop_column(column)
        batch_op.create_index(
            batch_op.f("ix_audit_entries_occurred_at"), ["occurred_at"], unique=False
        )
    with op.batch_alter_table("audit_seals", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_seals_entry_id_audit_entries"),
            "audit_entries",
            ["entry_id"],
            ["id"],
        )
    if _postgresql():
        op.execute(
            """
            CREATE FUNCTION audit_seals_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_seals is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_seals_no_change BEFORE UPDATE OR DELETE ON audit_seals "
            "FOR EACH ROW EXECUTE FUNCTION audit_seals_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_seals_append_only()"
        )
    else:
        _sqlite_guards("audit_entries")
        _sqlite_guards("audit_seals")


def _hash(entry: sa.Row, seq: int, prev_hash: str) -> str:
    content = {
        "seq": seq,
        "occurred_at": entry.occurred_at.isoformat(timespec="microseconds"),
        "actor_account_id": entry.actor_account_id,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "patient_id": entry.patient_id,
        "ip": entry.ip,
        "request_id": entry.request_id,
        "details": entry.details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def _seal_the_rest() -> None:
    """Link every entry without a seal after the last link, in id order."""
    entries = sa.table(
        "audit_entries",
        sa.column("id", BigId),
        sa.column("occurred_at", ihospital.db.UTCDateTime(timezone=True)),
        *(
            sa.column(name, sa.String)
            for name in ("actor_role", "action", "subject_type", "subject_id", "ip")
        ),
        sa.column("request_id", sa.String),
        sa.column("details", sa.Text),
        sa.column("actor_account_id", sa.BigInteger),
        sa.column("patient_id", sa.BigInteger),
    )
    seals = sa.table(
        "audit_seals",
        sa.column("seq", BigId),
        sa.column("entry_id", BigId),
        sa.column("prev_hash", sa.String),
        sa.column("entry_hash", sa.String),
    )
    connection = op.get_bind()
    last = connection.execute(
        sa.select(seals.c.seq, seals.c.entry_hash).order_by(seals.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq, last.entry_hash) if last else (0, GENESIS_HASH)
    unsealed = connection.execute(
        sa.select(entries)
        .where(~sa.exists().where(seals.c.entry_id == entries.c.id))
        .order_by(entries.c.id)
    ).all()
    links = []
    for entry in unsealed:
        seq += 1
        entry_hash = _hash(entry, seq, prev_hash)
        links.append(
            {"seq": seq, "entry_id": entry.id, "prev_hash": prev_hash, "entry_hash": entry_hash}
        )
        prev_hash = entry_hash
    if links:
        connection.execute(sa.insert(seals), links)


def downgrade() -> None:
    _seal_the_rest()
    if _postgresql():
        op.execute("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_change")
    else:
        _drop_sqlite_guards("audit_entries")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE audit_entries SET "
        "seq = (SELECT seq FROM audit_seals WHERE entry_id = audit_entries.id), "
        "prev_hash = (SELECT prev_hash FROM audit_seals WHERE entry_id = audit_entries.id), "
        "entry_hash = (SELECT entry_hash FROM audit_seals WHERE entry_id = audit_entries.id)"
    )
    op.drop_table("audit_seals")
    if _postgresql():
        op.execute("DROP FUNCTION audit_seals_append_only()")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_occurred_at"))
        for column, type_ in (
            ("seq", sa.BigInteger()),
            ("prev_hash", sa.String(length=64)),
            ("entry_hash", sa.String(length=64)),
        ):
            batch_op.alter_column(column, existing_type=type_, nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entries_seq"), ["seq"])
    if _postgresql():
        op.execute("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_no_change")
    else:
        _sqlite_guards("audit_entries")
