"""billing insured refunds

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 12:00:00

Refunds of bills settled with medical insurance: a refund records the part given back to the
insurance fund and personal account (``insured_fen``) beside the cash paid back through the
provider (``amount_fen``, which may now be zero, and then has no payment), and the settlement
it reversed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("billing_refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("insured_fen", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("settlement_id", BigId, nullable=True))
        batch_op.alter_column("payment_id", existing_type=BigId, nullable=True)
        batch_op.drop_constraint(batch_op.f("ck_billing_refunds_amount_positive"), type_="check")
        batch_op.create_check_constraint(
            "amounts_positive",
            "amount_fen >= 0 AND insured_fen >= 0 AND amount_fen + insured_fen > 0",
        )
        batch_op.create_check_constraint(
            "cash_has_payment", "payment_id IS NOT NULL OR amount_fen = 0"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_billing_refunds_settlement_id_insurance_settlements"),
            "insurance_settlements",
            ["settlement_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_refunds", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_billing_refunds_settlement_id_insurance_settlements"),
            type_="foreignkey",
        )
        batch_op.drop_constraint(batch_op.f("ck_billing_refunds_cash_has_payment"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_billing_refunds_amounts_positive"), type_="check")
        batch_op.create_check_constraint("amount_positive", "amount_fen > 0")
        batch_op.alter_column("payment_id", existing_type=BigId, nullable=False)
        batch_op.drop_column("settlement_id")
        batch_op.drop_column("insured_fen")
