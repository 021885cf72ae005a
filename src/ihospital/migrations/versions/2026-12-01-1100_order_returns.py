"""order returns

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-01 11:00:00

The parcel of a dispensed delivery order that came back to its pharmacy (a refunded failed
delivery, or a parcel rejected after a cold-chain excursion): received once, then put back into
stock or destroyed with a reason, once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ihospital.db

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pharmacy_order_returns",
        sa.Column("order_id", BIG_ID, nullable=False),
        sa.Column("pharmacy_id", BIG_ID, nullable=False),
        sa.Column("received_at", ihospital.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_by_account_id", BIG_ID, nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("decided_at", ihospital.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_account_id", BIG_ID, nullable=True),
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('restock','destroy')",
            name=op.f("ck_pharmacy_order_returns_decision_known"),
        ),
        sa.CheckConstraint(
            "decision IS NULL OR decided_at IS NOT NULL",
            name=op.f("ck_pharmacy_order_returns_decision_dated"),
        ),
        sa.CheckConstraint(
            "decision IS NULL OR decision <> 'destroy' OR reason <> ''",
            name=op.f("ck_pharmacy_order_returns_reasoned"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_pharmacy_order_returns_decided_by_account_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["pharmacy_orders.id"],
            name=op.f("fk_pharmacy_order_returns_order_id_pharmacy_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["pharmacy_id"],
            ["pharmacies.id"],
            name=op.f("fk_pharmacy_order_returns_pharmacy_id_pharmacies"),
        ),
        sa.ForeignKeyConstraint(
            ["received_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_pharmacy_order_returns_received_by_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pharmacy_order_returns")),
        sa.UniqueConstraint("order_id", name=op.f("uq_pharmacy_order_returns_order_id")),
    )
    with op.batch_alter_table("pharmacy_order_returns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pharmacy_order_returns_pharmacy_id"), ["pharmacy_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pharmacy_order_returns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pharmacy_order_returns_pharmacy_id"))
    op.drop_table("pharmacy_order_returns")
