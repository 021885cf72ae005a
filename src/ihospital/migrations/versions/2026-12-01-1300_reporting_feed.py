"""reporting feed

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-01 13:00:00

The reporting feed (数据上报) to the provincial supervision platform (issue 7, item 6): one row
per standardised record with its idempotency key and sequence number, and the feed's state
(the next sequence number, the pusher's backoff, last success and error) in one row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = ihospital.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reporting_records",
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=96), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("institution_id", BigId, nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.Column("rejected_at", UTC, nullable=True),
        sa.Column("reject_code", sa.String(length=32), nullable=True),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("requeued_at", UTC, nullable=True),
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending','delivered','rejected')",
            name=op.f("ck_reporting_records_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_reporting_records_institution_id_institutions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_records")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_reporting_records_idempotency_key")),
        sa.UniqueConstraint("sequence", name=op.f("uq_reporting_records_sequence")),
    )
    with op.batch_alter_table("reporting_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reporting_records_region_code"), ["region_code"], unique=False
        )
        batch_op.create_index(
            "ix_reporting_records_status_sequence", ["status", "sequence"], unique=False
        )
    state = op.create_table(
        "reporting_feed_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("next_sequence", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=True),
        sa.Column("last_success_at", UTC, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_feed_state")),
    )
    op.bulk_insert(state, [{"id": 1, "next_sequence": 1, "failures": 0, "last_error": ""}])


def downgrade() -> None:
    op.drop_table("reporting_feed_state")
    with op.batch_alter_table("reporting_records", schema=None) as batch_op:
        batch_op.drop_index("ix_reporting_records_status_sequence")
        batch_op.drop_index(batch_op.f("ix_reporting_records_region_code"))
    op.drop_table("reporting_records")
