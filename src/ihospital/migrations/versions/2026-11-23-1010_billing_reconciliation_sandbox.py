"""billing reconciliation

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 10:10:00

Reconciliation (对账): one run per payment channel and day, and the mismatches it found between
the provider's statement and our payments and refunds. (The sandbox provider keeps its own books
in a database of its own, as a real provider would: none of its tables are ours.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "billing_reconciliation_runs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("payments_count", sa.Integer(), nullable=False),
        sa.Column("payments_fen", sa.BigInteger(), nullable=False),
        sa.Column("refunds_count", sa.Integer(), nullable=False),
        sa.Column("refunds_fen", sa.BigInteger(), nullable=False),
        sa.Column("fees_fen", sa.BigInteger(), nullable=False),
        sa.Column("mismatch_count", sa.Integer(), nullable=False),
        sa.Column("ran_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ran_by_account_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["ran_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_billing_reconciliation_runs_ran_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_reconciliation_runs")),
        sa.UniqueConstraint(
            "channel", "day", name=op.f("uq_billing_reconciliation_runs_channel_day")
        ),
    )
    op.create_table(
        "billing_reconciliation_mismatches",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("run_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("record", sa.String(length=16), nullable=False),
        sa.Column("out_trade_no", sa.String(length=64), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("provider_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("our_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("provider_status", sa.String(length=16), nullable=False),
        sa.Column("our_status", sa.String(length=16), nullable=False),
        sa.Column("institution_id", BigId, nullable=True),
        sa.Column("order_id", BigId, nullable=True),
        sa.CheckConstraint(
            "kind IN ('missing_ours','missing_provider','amount','status')",
            name=op.f("ck_billing_reconciliation_mismatches_kind_known"),
        ),
        sa.CheckConstraint(
            "record IN ('payment','refund')",
            name=op.f("ck_billing_reconciliation_mismatches_record_known"),
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_billing_reconciliation_mismatches_institution_id_institutions"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["billing_orders.id"],
            name=op.f("fk_billing_reconciliation_mismatches_order_id_billing_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["billing_reconciliation_runs.id"],
            name=op.f("fk_billing_reconciliation_mismatches_run_id_billing_reconciliation_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_reconciliation_mismatches")),
    )
    op.create_index(
        op.f("ix_billing_reconciliation_mismatches_institution_id"),
        "billing_reconciliation_mismatches",
        ["institution_id"],
    )
    op.create_index(
        op.f("ix_billing_reconciliation_mismatches_run_id"),
        "billing_reconciliation_mismatches",
        ["run_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_billing_reconciliation_mismatches_run_id"),
        table_name="billing_reconciliation_mismatches",
    )
    op.drop_index(
        op.f("ix_billing_reconciliation_mismatches_institution_id"),
        table_name="billing_reconciliation_mismatches",
    )
    op.drop_table("billing_reconciliation_mismatches")
    op.drop_table("billing_reconciliation_runs")
