"""billing finance day indexes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 13:00:00

The finance totals and the reconciliation pick bills, payments and refunds by the day they were
paid or paid out: index those times.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("billing_orders", "paid_at"),
    ("billing_payments", "succeeded_at"),
    ("billing_refunds", "completed_at"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def downgrade() -> None:
    for table, column in reversed(INDEXES):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
