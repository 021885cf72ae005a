"""billing checkout insurance

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00

Checkout with medical insurance: order lines carry what the settlement engine needs (a drug's
class, whether the line belongs to an online follow-up visit), an order records the part its
live settlement pays, and settlements name their order and order lines by foreign key.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("insured_fen", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_check_constraint(
            "insured_within", "insured_fen >= 0 AND insured_fen <= total_fen"
        )
    with op.batch_alter_table("billing_order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drug_class", sa.String(length=1), nullable=True))
        batch_op.add_column(
            sa.Column("online_follow_up", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_check_constraint(
            "drug_class_known",
            "drug_class IS NULL OR (kind = 'drug' AND drug_class IN ('A','B','C'))",
        )
    with op.batch_alter_table("insurance_settlements", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_insurance_settlements_order_id_billing_orders"),
            "billing_orders",
            ["order_id"],
            ["id"],
        )
    with op.batch_alter_table("insurance_settlement_lines", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_insurance_settlement_lines_order_line_id_billing_order_lines"),
            "billing_order_lines",
            ["order_line_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("insurance_settlement_lines", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_insurance_settlement_lines_order_line_id_billing_order_lines"),
            type_="foreignkey",
        )
    with op.batch_alter_table("insurance_settlements", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_insurance_settlements_order_id_billing_orders"), type_="foreignkey"
        )
    with op.batch_alter_table("billing_order_lines", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("ck_billing_order_lines_drug_class_known"), type_="check"
        )
        batch_op.drop_column("online_follow_up")
        batch_op.drop_column("drug_class")
    with op.batch_alter_table("billing_orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_billing_orders_insured_within"), type_="check")
        batch_op.drop_column("insured_fen")
